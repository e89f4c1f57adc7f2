# Every way of binding the name in the loop body, and loops in every kind of scope.
import torch

for x in loader:  # module level
    loss = model(x)  # GF001: add 'del loss'
    loss.backward()

for x in loader:
    loss: torch.Tensor = model(x)  # GF001: add 'del loss'
    loss.backward()

for x in loader:
    loss, logs = model(x)  # GF001: add 'del loss'
    loss.backward()
    print(logs["acc"])  # read as a dict of metrics: not a tensor output

for x in loader:
    loss, extra = model(x)  # GF001: add 'del loss' | GF004: 'extra'
    loss.backward()

for x in loader:
    with record(x) as out:  # GF001: add 'del out'
        out.backward()

for x in loader:
    print((loss := model(x)).shape)  # GF001: add 'del loss'
    loss.backward()

for x in loader:
    loss = model(x)
    loss = loss * 2  # GF001: add 'del loss'
    loss.backward()

for x in loader: a = model(x); a.backward()  # GF001: add 'del a'

step = 0
while step < 10:
    loss = model(x)  # GF001: add 'del loss'
    loss.backward()
    step += 1


async def async_loop(model, loader):
    async for x in loader:
        loss = await model(x)  # GF001: add 'del loss'
        loss.backward()


class Trainer:
    def fit(self):
        for epoch in range(3):
            for x in self.loader:
                loss = self.model(x)  # GF001: add 'del loss'
                loss.backward()
            print(epoch)


def nested_function():
    def inner(loader):
        for x in loader:
            loss = model(x)  # GF001: add 'del loss'
            loss.backward()
    return inner


def vae_step(model, loader, optimizer):
    for data in loader:
        recon, mu, logvar = model(data)  # GF004: 'recon' | GF004: 'mu' | GF004: 'logvar'
        loss = loss_function(recon, data, mu, logvar)  # GF001: add 'del loss'
        loss.backward()
        optimizer.step()


def gan_step(netD, netG, criterion, loader, label):
    # `output` is rebound three times; only the last value lives on, and it is reported there.
    for x in loader:
        netD.zero_grad()  # a module method: netD and netG are models
        netG.zero_grad()
        output = netD(x)
        err_real = criterion(output, label)  # GF001: add 'del err_real'
        err_real.backward()
        fake = netG(x)  # GF004: 'fake'
        output = netD(fake.detach())
        err_fake = criterion(output, label)  # GF001: add 'del err_fake'
        err_fake.backward()
        output = netD(fake)  # GF004: 'output'
        err_g = criterion(output, label)  # GF001: add 'del err_g'
        err_g.backward()


def source_rebound_on_one_path(model, loader, refine):
    for x in loader:
        logits = model(x)  # GF004: 'logits'
        if refine:
            logits = model.head(logits)
            loss = logits.sum()
            del logits
        else:
            loss = logits.mean()
        loss.backward()  # GF001 is at the bindings above, not here
        del loss


def unpacked_display(model, loader, crit, accuracy):
    for x, y in loader:
        out = model(x)  # GF004: 'out'
        logits = model(y)  # not a source of the loss: `acc` is computed from it, `loss` is not
        loss, acc = crit(out, y), accuracy(logits, y)  # GF001: add 'del loss'
        loss.backward()
