# What a module-level loop (a script's, a notebook cell's) leaves bound after it ends (GF007).
import torch

model = torch.nn.GRUCell(4, 4)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loader = [torch.randn(2, 4) for _ in range(3)]

state = None
for x in loader:
    state = model(x, state)  # GF007: add 'del state' after the loop
    loss = state.sum()
    loss.backward()
    opt.step()
    del loss

hidden = None
for x in loader:
    hidden = model(x, hidden)  # GF007: no autofix: 'hidden' is read after the loop
    total = hidden.sum()
    total.backward()
    del total
print(hidden.shape)


def train(x):
    opt.zero_grad()
    output = model(x, None)
    loss = output.sum()
    loss.backward()
    opt.step()
    return output, loss.item()


output = None
for x in loader:
    output, value = train(x)  # GF007: the last value keeps its storage and graph alive
print(value)
