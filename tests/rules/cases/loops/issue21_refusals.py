# Issue 21: true findings whose fix was refused for a wrong reason.
import torch

for arg in vars(args):  # vars() of an object, not of the module: module names can be deleted
    print(arg, getattr(args, arg))

for x, y in loader:
    loss = criterion(model(x), y)  # GF001: add 'del loss'
    loss.backward()
    optimizer.step()
