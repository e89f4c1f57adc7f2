# "Carries a graph" needs evidence: a module trained in this file (its parameters go to an
# optimizer, it is put in .train(), or a loss computed from its output is backwarded), a module
# evaluated here (.eval(), load_state_dict), or a loss applied to such a value. Shapes from
# public projects the tool was measured on (issue: findings that hold on code never seen).
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence


def train(net, loader, opt):
    net.train()
    for x, y in loader:
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def generate(path, prompts):  # a pipeline (its __call__ runs under no_grad): no evidence
    pipeline = Pipeline.from_pretrained(path).to("cuda")
    images = []
    for prompt in prompts:
        image = pipeline(prompt).images[0]
        images.append(image)
    return images


def build(cfg):  # constructors are not forward passes
    attns = []
    for _ in range(cfg.depth):
        attns.append(Transformer2DModel(8))
    for _ in range(2):
        _ = Model(cfg)
    return attns


def chunked_log_probs(model, x):  # the chunks are concatenated into what is returned
    parts = []
    for chunk in x.split(4):
        logits = model(chunk)
        parts.append(logits.log_softmax(-1))
    out = torch.cat(parts)
    return out


def periodic_eval(net, loader, opt, crit, test_x, test_y):
    for step, (x, y) in enumerate(loader):
        loss = crit(net(x), y)  # GF001: add 'del loss'
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            test_out = net(test_x)  # GF002: no backward uses it
            print((test_out.argmax(1) == test_y).float().mean().item())


def helper_backward(model, loader, scaler):
    def _backward(l):
        scaler.scale(l).backward()

    for x in loader:
        out = model(x)  # GF004: add 'del out'
        loss = out.sum()  # GF001: add 'del loss'
        _backward(loss)


def helper_backward_on_a_scaled_loss(model, loader, accum):
    def _scaled_backward(l):
        (l / accum).backward()

    for x in loader:
        out = model(x)  # GF004: add 'del out'
        loss = out.sum()  # GF001: add 'del loss'
        _scaled_backward(loss)


def evaluate_script(model, loader):  # evaluated here, outside no_grad
    model.eval()
    total = 0.0
    for x, y in loader:
        out = model(x)  # GF002: this loop never runs backward
        total += (out.argmax(1) == y).sum().item()
    return total


def frozen_features(encoder, head, loader, opt):
    encoder.requires_grad_(False)
    for x, y in loader:
        feats = encoder(x)
        loss = F.mse_loss(head(feats), y)  # GF001: add 'del loss'
        opt.zero_grad()
        loss.backward()
        opt.step()


def accumulated_loss_wording(net, loader, opt):
    for xs in loader:
        loss = net(xs[0]).sum()
        for x in xs[1:]:
            loss += net(x).sum()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def accumulated_loss_rebound_first(net, loader, opt):
    for xs in loader:
        loss = 0  # rebound before the next forward, on every path: the old sum keeps nothing
        for x in xs:
            loss += net(x).sum()
        loss.backward()
        opt.step()


@torch.no_grad()
def sample(net, steps):
    for _ in range(steps):
        with torch.enable_grad():
            score = net(torch.randn(4))  # GF002: this loop never runs backward
        print(score.item())


def native_scaler(model, criterion, loader, optimizer, loss_scaler):  # timm / MAE trainers
    model.train(True)
    for samples, targets in loader:
        with torch.cuda.amp.autocast():
            outputs = model(samples)  # GF004: add 'del outputs'
            loss = criterion(outputs, targets)  # GF001: add 'del loss'
        loss_scaler(loss, optimizer, parameters=model.parameters())
        optimizer.zero_grad()


def project_autocast(model, loader, scaler, compute_loss):  # yolov5: a wrapper of autocast
    model.train()
    for imgs, targets in loader:
        with smart_amp_autocast(True):
            pred = model(imgs)  # GF004: add 'del pred'
            loss, items = compute_loss(pred, targets)  # GF001: add 'del loss'
        scaler.scale(loss).backward()


def scaled_for_accumulation(model, criterion, loader, optimizer, accum_iter):
    model.train()
    for step, (x, y) in enumerate(loader):
        outputs = model(x)  # GF004: add 'del outputs'
        loss = criterion(outputs, y)
        loss /= accum_iter  # GF001: add 'del loss'
        loss.backward()


def style_transfer(vgg, target, content, optimizer, steps):  # FN6: sources through an inner loop
    optimizer = torch.optim.Adam([target])
    vgg.eval()
    for step in range(steps):
        target_features = vgg(target)  # GF004: add 'del target_features'
        content_features = vgg(content)  # GF004: add 'del content_features'
        style_loss = 0
        for f1, f2 in zip(target_features, content_features):
            style_loss += torch.mean((f1 - f2) ** 2)  # GF001: add 'del style_loss'
        loss = 1e3 * style_loss  # GF001: add 'del loss'
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def gan_scores(D, G, loader, criterion, real_labels):  # FN7: aliases
    d_opt = torch.optim.Adam(D.parameters())
    g_opt = torch.optim.Adam(G.parameters())
    for images in loader:
        outputs = D(images)
        d_loss_real = criterion(outputs, real_labels)  # GF001: add 'del d_loss_real'
        real_score = outputs  # GF004: add 'del real_score'
        d_loss_real.backward()
        d_opt.step()
        fake_images = G(torch.randn(4, 8))  # GF004: add 'del fake_images'
        outputs = D(fake_images)  # GF004: add 'del outputs'
        g_loss = criterion(outputs, real_labels)  # GF001: add 'del g_loss'
        g_loss.backward()
        g_opt.step()
        print(real_score.mean().item())


def fit(net, train_loader, val_loader, opt, crit, epochs):  # FN2: evaluation after training
    for epoch in range(epochs):
        net.train()
        for x, y in train_loader:
            loss = crit(net(x), y)  # GF001: add 'del loss'
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        for x, y in val_loader:  # the label name `y` is shared with the training loop
            val_out = net(x)  # GF002: this loop never runs backward
            print((val_out.argmax(1) == y).float().mean().item())


def deit_trainer(model, criterion, loader, optimizer, mixup_fn):  # the loss takes the inputs first
    model.train()
    for samples, targets in loader:
        samples, targets = mixup_fn(samples, targets)  # data, rebinding its own inputs
        outputs = model(samples)  # GF004: add 'del outputs'
        loss = criterion(samples, outputs, targets)  # GF001: add 'del loss'
        optimizer.zero_grad()
        loss.backward()


def show_classes(model, inputs):  # `.data` is the tensor detached
    model.eval()
    for x in inputs:
        output = model(x)  # GF002: this loop never runs backward
        top, idx = output.data.squeeze().max(0)
        print(idx[0])


def captioning(encoder, decoder, loader, opt):
    # A loss of PyTorch's API compares its input with a target: the sorted captions the decoder
    # hands back are the target, not what the loss is of. What the decoder returns beside its
    # output and nothing reads (`sort_ind`) keeps its storage: the tool cannot see inside it.
    ce = torch.nn.CrossEntropyLoss()
    for imgs, caps, caplens in loader:
        imgs = encoder(imgs)
        scores, caps_sorted, decode_lengths, alphas, sort_ind = decoder(imgs, caps, caplens)  # GF004: 'alphas' | GF004: 'sort_ind'
        targets = caps_sorted[:, 1:]
        scores = pack_padded_sequence(scores, decode_lengths, batch_first=True).data  # GF004: 'scores'
        targets = pack_padded_sequence(targets, decode_lengths, batch_first=True).data
        loss = ce(scores, targets)
        loss += ((1. - alphas.sum(dim=1)) ** 2).mean()  # GF001: add 'del loss'
        opt.zero_grad()
        loss.backward()


def yolo_epochs(model, loader, compute_loss, scaler, epochs):  # loss items are logged, detached
    model.train()
    for epoch in range(epochs):
        mloss = 0
        for i, (imgs, targets) in enumerate(loader):
            pred = model(imgs)  # GF004: add 'del pred'
            loss, loss_items = compute_loss(pred, targets)  # GF001: add 'del loss'
            scaler.scale(loss).backward()
            mloss = (mloss * i + loss_items) / (i + 1)
        log_vals = list(mloss) + [epoch]
        print(log_vals)
