# The remaining trainer shapes of the issue "findings that hold on code we have never seen":
# helpers in the same module, sibling outputs, a walrus in a while header, grad mode switched by
# a plain statement, an inner loop's target.
import torch


def forward(model, ids):
    return model(ids)


@torch.no_grad()
def predict(model, ids):
    return model(ids)


def helper_forward(model, loader, opt):  # FN3: the forward pass goes through a local helper
    for ids in loader:
        output = forward(model, ids)  # GF004: add 'del output'
        logits = output.logits  # GF004: add 'del logits'
        loss = logits.sum()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def helper_under_no_grad(model, loader):  # a local helper decorated with no_grad: no graph
    model.eval()
    for ids in loader:
        output = predict(model, ids)
        print(output.sum().item())


def helper_forward_evaluation(net, loader):  # the helper forwards whatever module it is given
    net.eval()
    for ids in loader:
        output = forward(net, ids)  # GF002: this loop never runs backward
        print(output.sum().item())


class GPTTrainer:  # FN4: a tuple target that mixes names and attributes still binds its names
    def run(self, model, loader, opt):
        model.train()
        for x, y in loader:
            logits, self.loss = model(x, y)  # GF004: add 'del logits'
            opt.zero_grad()
            self.loss.backward()
            opt.step()


def sibling_outputs(model, loader, opt):  # FN4: the outputs bound beside the loss
    for x in loader:
        loss, pred, mask = model(x)  # GF001: add 'del loss' | GF004: 'pred' | GF004: 'mask'
        loss.backward()
        opt.step()


def walrus_while(model, it, opt):  # bound in the header, kept while the next forward runs
    model.train()
    while (loss := model(next(it)).sum()) > 0:  # GF001: add 'del loss'
        opt.zero_grad()
        loss.backward()
        opt.step()


def grad_off_statement(model, loader):  # grad mode is a flow fact, not only a block
    model.eval()
    torch.set_grad_enabled(False)
    for x in loader:
        out = model(x)
        print(out.sum().item())


def grad_back_on(model, loader):
    model.eval()
    torch.set_grad_enabled(False)
    for x in loader:
        out = model(x)
        print(out.sum().item())
    torch.set_grad_enabled(True)
    for x in loader:
        out = model(x)  # GF002: this loop never runs backward
        print(out.sum().item())


def inner_target_survives(model, loader, opt, losses_of):  # the inner loop's last target
    model.train()
    for x in loader:
        for loss in losses_of(model, x):  # GF001: no autofix
            loss.backward()
        opt.step()


def loss_terms(D, loader, adversarial_loss, valid, fake, opt):  # the terms keep nodes, as the loss
    for real, gen in loader:
        real_loss = adversarial_loss(D(real), valid)  # GF001: add 'del real_loss'
        fake_loss = adversarial_loss(D(gen), fake)  # GF001: add 'del fake_loss'
        d_loss = (real_loss + fake_loss) / 2  # GF001: add 'del d_loss'
        d_loss.backward()
        opt.step()


def loss_terms_retained(D, loader, adversarial_loss, valid, opt):  # retain_graph keeps them whole
    for real in loader:
        real_loss = adversarial_loss(D(real), valid)  # GF004: forward outputs the loss was computed from
        d_loss = real_loss * 2  # GF003: retain_graph=True kept its saved tensors
        d_loss.backward(retain_graph=True)
        opt.step()


def compute_kl(mu):
    return torch.mean(torch.pow(mu, 2))


def helper_loss_terms(encoder, loader, opt):  # a local helper computes a loss from its argument
    encoder.train()
    for x in loader:
        mu = encoder(x)  # GF004: add 'del mu'
        loss_kl = 0.1 * compute_kl(mu)  # GF001: add 'del loss_kl'
        loss_kl.backward()
        opt.step()


def helper_of_data(encoder, loader, opt):  # the same helper given data returns no graph
    encoder.train()
    for x in loader:
        prior = compute_kl(x)
        loss = encoder(x).sum()  # GF001: add 'del loss'
        loss.backward()
        print(prior)


def softmax_gan(discriminator, generator, loader, opt_d, opt_g):  # the second backward frees it
    generator.train()
    for real, z in loader:
        gen = generator(z)  # GF004: add 'del gen'
        d_real = discriminator(real)  # GF004: add 'del d_real'
        d_fake = discriminator(gen)  # GF004: add 'del d_fake'
        part = torch.sum(torch.exp(-d_real)) + torch.sum(torch.exp(-d_fake))  # GF004: add 'del part'
        d_loss = torch.sum(d_real) + torch.log(part)  # GF001: add 'del d_loss'
        d_loss.backward(retain_graph=True)
        opt_d.step()
        g_loss = torch.sum(d_real) + torch.sum(d_fake) + torch.log(part)  # GF001: add 'del g_loss'
        g_loss.backward()
        opt_g.step()


def after_the_backward(model, criterion, loader, optimizer):  # pytorch_resnet_cifar10's trainer
    model.train()
    for x, y in loader:
        output = model(x)
        loss = criterion(output, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        output = output.float()  # GF004: add 'del output'
        loss = loss.float()  # GF001: add 'del loss'
        print(loss.item(), output.argmax(1))


def combined_after_backwards(D_A, D_B, loader, crit, opt):  # CycleGAN's loss_D
    for a, b in loader:
        loss_D_A = crit(D_A(a))  # GF001: add 'del loss_D_A'
        loss_D_A.backward()
        loss_D_B = crit(D_B(b))  # GF001: add 'del loss_D_B'
        loss_D_B.backward()
        opt.step()
        loss_D = (loss_D_A + loss_D_B) / 2  # GF001: add 'del loss_D'
        print(loss_D.item())


def pgd_attack(model, images, labels, loss, steps, alpha):  # autograd.grad frees as backward does
    model.eval()
    adv = images.clone()
    for _ in range(steps):
        adv.requires_grad = True
        outputs = model(adv)  # GF004: add 'del outputs'
        cost = loss(outputs, labels)  # GF001: add 'del cost'
        grad = torch.autograd.grad(cost, adv, retain_graph=False, create_graph=False)[0]
        adv = (adv.detach() + alpha * grad.sign()).detach()
    return adv


def gradient_penalty_kept(model, loader):  # create_graph=True keeps the graph
    for x in loader:
        x.requires_grad_(True)
        score = model(x).sum()  # GF003: create_graph=True kept its saved tensors
        grads = torch.autograd.grad(score, x, create_graph=True)
        print(grads[0].norm().item())


def pgd_l2_step(model, images, labels, loss, steps, alpha):  # gradients carry no graph
    model.eval()
    adv = images.clone()
    for _ in range(steps):
        adv.requires_grad = True
        cost = loss(model(adv), labels)  # GF001: add 'del cost'
        grad = torch.autograd.grad(cost, adv)[0]
        adv = adv.detach() + alpha * grad
        delta = adv - images
        factor = 0.1 / torch.norm(delta)
        adv = (images + delta * factor).detach()
    return adv


def unused_output_beside_a_source(D, loader, opt):  # PyTorch-GAN's auxiliary-classifier GANs
    D.train()
    for fake in loader:
        validity, _ = D(fake)  # GF004: 'validity' | GF004: returned beside the loss
        loss = -validity.mean()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def rescaled_prediction_summed(model, head, interp, seg_loss, loader, opt, iters):  # DecoupleNet
    model.train()
    for batch in loader:
        total = 0
        for _ in range(iters):
            images, labels = next(batch)
            pred = head(model(images))
            # a call that rebinds its own input keeps its graph
            pred = interp(pred)  # GF004: add 'del pred'
            loss_seg = seg_loss(pred, labels)  # GF001: add 'del loss_seg'
            total += loss_seg / iters  # GF005: one more autograd graph is kept every iteration
            (loss_seg / iters).backward()
        opt.step()
        print(total.item())


def fit_one_cycle(model, loader, opt):  # the losses of a training step kept for the epoch's mean
    model.train()
    train_losses = []
    for batch in loader:
        loss = model.training_step(batch)  # GF001: add 'del loss'
        train_losses.append(loss)  # GF006: no autofix: the value added to 'train_losses' may not be a tensor
        loss.backward()
        opt.step()
    return torch.stack(train_losses).mean().item()


def predict_char(net, char, h):
    out, h = net(char, h)
    return net.int2char[int(out.argmax())], h


def sample(net, prime):  # Udacity's char-rnn: only the hidden state of the pair carries a graph
    net.eval()
    h = net.init_hidden(1)
    for ch in prime:
        char, h = predict_char(net, ch, h)
        print(char)


def forward_pair(layer, x):
    y = layer(x)
    return y, 0


def evaluate_pairs(model, loader):  # an element of a helper's pair carries what its module gives
    model.eval()
    for x in loader:
        pred, n = forward_pair(model, x)  # GF002: add 'del pred'
        print(pred.sum().item(), n)


def scale_pair(t, k):
    return t * k, k


def evaluate_scaled(model, loader):  # an element of a helper's pair carries the graph it is given
    model.eval()
    for x in loader:
        scaled, k = scale_pair(model(x), 2)  # GF002: add 'del scaled'
        print(scaled.sum().item(), k)


def accelerate_step(model, batch, optimizer, accelerator):
    outputs = model(**batch)
    loss = outputs.loss
    accelerator.backward(loss)
    optimizer.step()
    return loss


def nd_parallel(model, loader, optimizer, accelerator):  # the step backwards its own loss, not its accelerator
    for batch in loader:
        loss = accelerate_step(model, batch, optimizer, accelerator)  # GF001: keeps its autograd graph's nodes
        print(loss.item())


def engine_backward(accelerator, l):
    accelerator.backward(l)


def through_engine_helper(model, loader, optimizer, accelerator):
    for x in loader:
        loss = model(x).mean()  # GF001: add 'del loss'
        engine_backward(accelerator, loss)
        optimizer.step()


def scalar_of_outputs(model, loader, accelerator, opt):  # a full reduction keeps one number, not the outputs
    for x in loader:
        outputs = model(x)  # GF004: add 'del outputs'
        prediction = outputs.last_hidden_state.mean()  # GF001: keeps its autograd graph's nodes
        loss = prediction.sum()  # GF001: add 'del loss'
        accelerator.backward(loss)
        per_row = outputs.logits.mean(dim=1)  # GF004: their storage and graph
        total = torch.sum(per_row)  # GF001: add 'del total'
        total.backward()
        opt.step()


def sequence_parallel(model, loader, opt, world):  # accelerate's ALST: loss terms through a generator
    for batch in loader:
        outputs = model(**batch)  # GF004: add 'del outputs'
        loss = outputs.loss
        losses_per_rank = torch.distributed.nn.functional.all_gather(loss)  # GF004: no autofix: 'losses_per_rank' is read by a nested function, class, lambda or generator
        total_loss = sum(losses_per_rank[r] * 2 for r in range(world))  # GF001: add 'del total_loss'
        loss = total_loss / world  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def adapter_residuals(adapter, unet, loader, opt):  # diffusers' T2I-Adapter: a list of features
    adapter.train()
    for x, cond in loader:
        residuals = adapter(cond)
        residuals = [r.float() for r in residuals]  # GF004: add 'del residuals'
        pred = unet(x, residuals)  # GF004: add 'del pred'
        loss = pred.pow(2).mean()  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def llama_step(model, optimizer, criterion, batch):
    optimizer.zero_grad()
    outputs = model(batch["input_ids"])
    loss = criterion(outputs.logits, batch["label"])
    loss.backward()
    optimizer.step()
    return loss


def llama_fit(model, optimizer, criterion, loader, probe):  # opacus' FSDP example
    model.train()
    for batch in loader:
        loss = llama_step(model, optimizer, criterion, batch)  # GF001: keeps its autograd graph's nodes
        print(loss.item())
    for batch in loader:
        score = probe(batch).mean()  # GF001: add 'del score'
        score.backward()
        last = llama_step(model, optimizer, criterion, batch)  # GF001: add 'del last'
        print(last.item())


def conditional_step(model, batch, do_backward):
    loss = model(batch).mean()
    if do_backward:
        loss.backward()
    return loss


def conditional_fit(model, loader):  # not backwarded on every path: nothing said about what it keeps
    model.train()
    for batch in loader:
        loss = conditional_step(model, batch, True)
        print(loss.item())


def cosine(q, p):
    return torch.sum(q * p, axis=1)


def semantic_search(model, loader, opt, get_loss):  # peft's embedding example: both towers feed the loss
    model.train()
    for batch in loader:
        query_embs = model(batch["q"])  # GF004: add 'del query_embs'
        product_embs = model(batch["p"])  # GF004: add 'del product_embs'
        loss = get_loss(cosine(query_embs, product_embs), batch["labels"])  # GF001: add 'del loss'
        loss.backward()
        opt.step()
