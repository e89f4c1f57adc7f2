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
