# Issue 22: evidence, not names, decides what carries a graph. Shapes from a blind round on code
# never used before (LoRA fine-tuning, a production trainer, an RNN tutorial).
import torch
import torch.nn.functional as F


def lora_finetune(unet, vae, loader, optimizer, accelerator, inject_trainable_lora):
    # A frozen base, then adapters injected into it: the backward proves its output has a graph.
    unet.requires_grad_(False)
    vae.requires_grad_(False)
    params, _ = inject_trainable_lora(unet)
    for batch in loader:
        latents = vae.encode(batch["pixels"]).latent_dist.sample()  # frozen, data in: no graph
        pred = unet(latents, batch["t"]).sample  # GF004: add 'del pred'
        loss = F.mse_loss(pred.float(), latents.float())  # GF001: add 'del loss'
        accelerator.backward(loss)
        optimizer.step()


def perceptual(generator, vgg, loader, opt):
    # A frozen feature extractor on the backward's path: its output from the generator carries
    # a graph (through vgg, from fake), its output from the data does not.
    vgg.requires_grad_(False)
    for x, real in loader:
        fake = generator(x)  # GF004: add 'del fake'
        fake_feat = vgg(fake)  # GF004: add 'del fake_feat'
        real_feat = vgg(real)
        loss = F.mse_loss(fake_feat, real_feat)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def amp_step(model, loader, criterion, optimizer, loss_scaler):
    # What a loss scaler returns is the gradients' norm, no graph, whatever its callee is named.
    for samples, targets in loader:
        outputs = model(samples)  # GF004: add 'del outputs'
        loss = criterion(outputs, targets)  # GF001: add 'del loss'
        grad_norm = loss_scaler(loss, optimizer, parameters=model.parameters())
        print(grad_norm)


def greedy_decode(decoder, optimizer, start, steps):
    # An evaluation loop outside no_grad that stores words (not graphs) into what it returns.
    optimizer.zero_grad()
    decoder.train()
    words, token, hidden = [], start, None
    for _ in range(steps):
        out, hidden, attention = decoder(token, hidden)  # GF002: add 'del out' | GF002: add 'del attention'
        token = out.argmax(-1)
        words.append("<EOS>" if token.item() == 1 else "w")
    return words


def lora_data_stays_data(unet, loader, optimizer, scheduler, inject):
    # Walking back through a frozen module does not make the data it was handed a graph.
    unet.requires_grad_(False)
    inject(unet)
    seen = []
    for batch in loader:
        noisy = scheduler.add_noise(batch["latents"], batch["noise"])
        seen.append(noisy)
        pred = unet(noisy)  # GF004: add 'del pred'
        loss = (pred - batch["noise"]).pow(2).mean()  # GF001: add 'del loss'
        loss.backward()
        optimizer.step()
    return len(seen)


def rnn_unrolled(decoder, optimizer, criterion, inp, target):
    # A loop with no backward whose graphs a backward after it goes through: training, kept on
    # purpose (an RNN unrolled step by step), not an evaluation outside no_grad.
    hidden, loss = None, 0
    for c in range(len(inp)):
        output, hidden = decoder(inp[c], hidden)
        loss += criterion(output, target[c])
    loss.backward()
    optimizer.step()
    for c in range(len(inp)):
        last, hidden = decoder(inp[c], hidden)
    criterion(last, target[-1]).backward()
    return loss.item()


def moe_step(model, loader, criterion, optimizer):
    # A term added as it is into a loss backwarded as a scalar is a scalar: a loss term (GF001),
    # whatever it is named and whatever returned it.
    for x, y in loader:
        outputs, aux = model(x)  # GF004: add 'del outputs' | GF001: add 'del aux'
        main = criterion(outputs, y)  # GF001: add 'del main'
        total = main + aux  # GF001: add 'del total'
        total.backward()
        optimizer.step()


def fabric_accumulate(fabric, model, loader, optimizer):
    # Fabric's no_backward_sync lets every exception through: the del goes after the block.
    for i, x in enumerate(loader):
        with fabric.no_backward_sync(model, enabled=i % 4 != 0):
            logits = model(x)  # GF004: add 'del logits'
            loss = logits.sum()  # GF001: add 'del loss'
            fabric.backward(loss)
        optimizer.step()


def through_the_module(model, loader, opt):
    # Any call through a module with evidence is a forward: its methods, its sub-modules, the
    # module DDP wraps.
    model.train()
    for x, y in loader:
        feats = model.forward_features(x)  # GF004: add 'del feats'
        emb = model.embed(x)  # GF004: add 'del emb'
        back = model.backbone(x)  # GF004: add 'del back'
        wrapped = model.module(x)  # GF004: add 'del wrapped'
        loss = feats.mean() + emb.mean() + back.mean() + wrapped.mean()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def evaluate_through_the_module(model, loader):
    model.eval()
    hits = 0
    for x, y in loader:
        feats = model.backbone(x)  # GF002: add 'del feats'
        logits = model.head(feats)  # GF002: add 'del logits'
        hits += (logits.argmax(-1) == y).sum().item()
    return hits


def not_a_forward(model, trainer, tokenizer, loader, opt):
    # A module's own methods, a trainer's entry points and what generate() returns give no graph.
    trainer.train()
    decoded = []
    for batch in loader:
        params = model.parameters()
        metrics = trainer.evaluate()
        out = model.generate(batch)
        decoded.extend(tokenizer.batch_decode(out))
        print(params, metrics)
    return decoded


def backward_through_a_method(step, loader, opt):
    # The backward proves a graph: the call it was computed from is the forward.
    for x in loader:
        loss = step.compute(x)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def forward_dict(net, x):
    out = net(x)
    return {"logits": out, "aux": out.mean()}


def train_with_a_dict(net, loader, opt):
    # A helper that returns a dict of outputs returns outputs: containers carry what they hold.
    net.train()
    for x in loader:
        result = forward_dict(net, x)  # GF004: add 'del result'
        loss = result["logits"].mean()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def train_with_a_closure(net, loader, opt):
    # A closure that returns outputs returns outputs, as a function of the module does.
    def _forward(v):
        return net(v), net(v).sum()

    for x in loader:
        pred, loss = _forward(x)  # GF004: add 'del pred' | GF001: add 'del loss'
        loss.backward()
        opt.step()


# Principle 3: grad flows through a frozen module from a tensor that requires grad.


def style_transfer(vgg, target, steps):
    vgg.requires_grad_(False)
    img = torch.randn(1, 3, 64, 64, requires_grad=True)
    opt = torch.optim.Adam([img], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        feats = vgg(img)  # GF004: add 'del feats'
        loss = ((feats - target) ** 2).mean()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def attack(victim, x, y, eps, steps):
    # (Not `model`: a freeze is still evidence by name for the whole file; see evaluate_... above.)
    victim.requires_grad_(False)
    delta = torch.zeros_like(x).requires_grad_()
    for _ in range(steps):
        logits = victim(x + delta)  # GF004: add 'del logits'
        loss = torch.nn.functional.cross_entropy(logits, y)  # GF001: add 'del loss'
        loss.backward()
        delta.data = (delta + eps * delta.grad.sign()).clamp(-eps, eps)
        delta.grad.zero_()


def prediction_named_like_labels(net, loader, criterion, opt):
    # The first argument of a loss is its input, the prediction, whatever it is named.
    net.train()
    for x, y in loader:
        y_hat = net(x)  # GF004: add 'del y_hat'
        loss = criterion(y_hat, y)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


class Agent(torch.nn.Module):
    pass


agent = Agent().to("cpu")
agent_opt = torch.optim.Adam(list(agent.parameters()) + [torch.zeros(1)])


def ppo_update(batches, advantages):
    # A method of an object built before the loops (a script's `agent = Agent(envs).to(device)`)
    # is a forward when a backward is computed from it.
    for obs, actions, old_logprobs in batches:
        _, newlogprob, entropy = agent.get_action_and_value(obs, actions)  # GF004: add 'del newlogprob' | GF004: add 'del entropy'
        ratio = (newlogprob - old_logprobs).exp()  # GF004: add 'del ratio'
        loss = -(advantages * ratio).mean() - 0.01 * entropy.mean()  # GF001: add 'del loss'
        agent_opt.zero_grad()
        loss.backward()
        agent_opt.step()


def resume_and_log(model, loader, path):
    # An optimizer (handed the parameters) and a scheduler (handed the optimizer) are no modules,
    # whatever `.load_state_dict()` is called on them.
    groups = [{"params": [p for n, p in model.named_parameters()]}]
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    optimizer.load_state_dict(torch.load(path))
    scheduler.load_state_dict(torch.load(path))
    model.train()
    for x in loader:
        loss = model(x).sum()  # GF001: add 'del loss'
        loss.backward()
        optimizer.step()
        scheduler.step()
        rates = scheduler.get_last_lr()
        print(rates[0])


def unpack_the_outputs(model, loader, opt):
    # Unpacking a forward's outputs is no copy of them: the tuple and each element are held apart.
    model.train()
    for batch in loader:
        outputs = model(**batch)  # GF004: add 'del outputs'
        loss, logits = outputs  # GF001: add 'del loss' | GF004: add 'del logits'
        loss.backward()
        opt.step()


def constant_keys(model, loader, opt, history):
    # An item with a literal key is overwritten each iteration: one graph, not one more each time.
    model.train()
    logs = {}
    for x in loader:
        loss = model(x).sum()  # stored under another holder too: `del loss` would free nothing
        logs["loss"] = loss
        history[len(history)] = loss  # GF006: one more autograd graph is kept every iteration
        loss.backward()
        opt.step()
    return logs


# Principle 7: the generalisations bring back no false findings.
def kernel_backward(ext, loader):
    # An extension's kernel named `backward` is not autograd's.
    for x in loader:
        y = x * 2
        grad = torch.ones_like(y)
        dx = ext.backward(grad, y, 0.5)
        print(dx.sum().item())


def returns_its_total(model, loader, crit):
    # A loop that accumulates a loss it returns keeps it on purpose.
    model.train()
    total = 0
    for x, t in loader:
        total = total + crit(model(x), t)
    return total


def like_is_fresh(model, loader, opt):
    # `torch.randn_like(out)` is a fresh tensor, with no graph.
    model.train()
    for x in loader:
        out = model(x)  # GF004: add 'del out'
        noise = torch.randn_like(out)
        loss = (out + noise).pow(2).mean()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def reduction_by_count(policy, loader, opt, n):
    # A full reduction divided by a count is still a scalar: a loss, GF001.
    policy.train()
    for obs, adv in loader:
        logp = policy(obs)  # GF004: add 'del logp'
        obj = (logp * adv).sum() / n  # GF001: add 'del obj'
        obj.backward()
        opt.step()


# Principle 3: a tensor that requires grad gives a graph to what is computed from it, with no
# module call at all (a raw-tensor MLP, an optimised image, a parameter of the module itself).
C = torch.randn((27, 10))
W1 = torch.randn((30, 27))
weights = [C, W1]
for w in weights:
    w.requires_grad = True
for step in range(100):
    ix = torch.randint(0, 27, (32,))
    emb = C[ix]  # GF004: add 'del emb'
    logits = emb.view(-1, 30) @ W1  # GF004: add 'del logits'
    loss = F.cross_entropy(logits, ix)  # GF001: add 'del loss'
    for w in weights:
        w.grad = None
    loss.backward()
for _ in range(20):  # sampling outside no_grad: every value keeps a graph
    emb = C[torch.tensor([0, 1, 2])]  # GF002: add 'del emb'
    probs = F.softmax(emb.view(1, 30) @ W1, dim=1)  # GF002: add 'del probs'
    ix = torch.multinomial(probs, num_samples=1).item()
with torch.no_grad():
    for _ in range(20):  # the same under no_grad: nothing
        emb = C[torch.tensor([0, 1, 2])]
        probs = F.softmax(emb.view(1, 30) @ W1, dim=1)
        ix = torch.multinomial(probs, num_samples=1).item()


def optimise_image(features, target):
    image = torch.rand(1, 3, 64, 64, requires_grad=True)
    optimizer = torch.optim.Adam([image], lr=0.01)
    for _ in range(50):
        optimizer.zero_grad()
        feats = features(image)  # GF004: add 'del feats'
        loss = F.mse_loss(feats, target)  # GF001: add 'del loss'
        loss.backward()
        optimizer.step()


def perturb(classifier, x, y):
    delta = torch.zeros_like(x)
    delta.requires_grad_()
    for _ in range(10):
        out = classifier(x + delta)  # GF004: add 'del out'
        loss = F.cross_entropy(out, y)  # GF001: add 'del loss'
        loss.backward()
        delta.data += 0.01 * delta.grad.sign()
        delta.grad.zero_()
        shown = delta.detach()  # detached: no graph
        print(shown.abs().max().item())


def layer_visualisation(model, image, layer_index):
    # The backward is computed from state a forward hook set (`self.conv_output`): which graphs
    # it goes through is not followed, so nothing is said to be one no backward uses.
    optimizer = torch.optim.Adam([image], lr=0.1)
    for _ in range(30):
        optimizer.zero_grad()
        x = image
        for index, layer in enumerate(model):
            x = layer(x)
            if index == layer_index:
                break
        loss = -torch.mean(model.conv_output)  # GF001: add 'del loss'
        loss.backward()
        optimizer.step()


def diffusion_step(unet, loader, optimizer, scheduler, losses):
    # Principle 1: `losses.conditional_loss(pred, target)` is no loss of PyTorch's API, so its
    # first argument is what the graph comes from, whatever it is named; the target it is
    # compared with (from a scheduler, an object built elsewhere) proves nothing.
    unet.train()
    for latents in loader:
        noise = torch.randn_like(latents)
        noisy = scheduler.add_noise(latents, noise, 10)
        pred = unet(noisy)  # GF004: add 'del pred'
        target = scheduler.get_velocity(latents, noise, 10)
        loss = losses.conditional_loss(pred.float(), target.float())  # GF001: add 'del loss'
        loss.backward()
        optimizer.step()


def linear_probe(backbone, head, loader, opt):
    # Principle 2: a head put back in training (`requires_grad_(True)`) beside a frozen backbone.
    backbone.requires_grad_(False)
    head.requires_grad_(True)
    for x, y in loader:
        feats = backbone(x)  # frozen, data in: no graph
        logits = head(feats)  # GF004: add 'del logits'
        loss = F.cross_entropy(logits, y)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def controlnet_step(controlnet, unet, text_encoder, loader, opt, train_text_encoder):
    # A frozen UNet handed a trained ControlNet's residuals passes their graph on; a text encoder
    # frozen, and trained under a flag, may give one: its outputs are kept with their storage.
    unet.requires_grad_(False)
    text_encoder.requires_grad_(False)
    if train_text_encoder:
        text_encoder.train()
    controlnet.train()
    for x, ids, cond in loader:
        states = text_encoder(ids)  # GF004: add 'del states'
        residuals, mid = controlnet(x, cond, states)  # GF004: 'residuals' | GF004: 'mid'
        pred = unet(x, states, extra=[r.float() for r in residuals], mid=mid)  # GF004: add 'del pred'
        loss = F.mse_loss(pred, x)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def text_encoder_through_a_helper(unet, text_encoder, loader, opt, encode):
    # Principle 2 past the first forward: what feeds the UNet was computed by a helper handed a
    # module trained here (`encode(ids, [text_encoder])`), and moved (`.to(dtype)`): the backward
    # goes through it too.
    unet.train()
    text_encoder.train()
    for x, ids in loader:
        states = encode(ids, [text_encoder])
        states = states.to(torch.float16)  # GF004: add 'del states'
        noise = torch.randn_like(x)
        pred = unet(x + noise, states)  # GF004: add 'del pred'
        loss = F.mse_loss(pred, noise)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def train_or_test(net, loader, crit, optimizer):
    # Principle 7: grad mode chosen at run time, and the backward under the same flag: the path
    # that skips the backward may build no graph, so the loss is not said to keep one there.
    is_train = optimizer is not None
    with (torch.enable_grad() if is_train else torch.no_grad()):
        for x, y in loader:
            out = net(x)  # GF004: add 'del out'
            loss = crit(out, y)  # GF001: add 'del loss'
            if is_train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()


W2 = torch.randn(27, 27, requires_grad=True)
for k in range(1):  # runs once: nothing is kept into a next iteration; GF007 after it
    logits2 = torch.randn(8, 27) @ W2  # GF007: no autofix: 'logits2' may be unbound where 'del' would go
    F.cross_entropy(logits2, torch.zeros(8, dtype=torch.long)).backward()


def show_samples(decoder, axes, z):
    # `zip` pairs each name of the target with its own iterable: `ax` takes the axes, no graph.
    decoder.eval()
    for _ in range(3):
        images = decoder(z)  # GF002: this loop never runs backward
        for i, (ax, img) in enumerate(zip(axes, images)):
            ax.imshow(img.detach().numpy())
