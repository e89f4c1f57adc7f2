# Issue 21: true findings whose fix was refused for a wrong reason.
import torch

for arg in vars(args):  # vars() of an object, not of the module: module names can be deleted
    print(arg, getattr(args, arg))

for x, y in loader:
    loss = criterion(model(x), y)  # GF001: add 'del loss'
    loss.backward()
    optimizer.step()


def epochs_with_an_evaluation(model, loader, X, criterion, optimizer):
    for epoch in range(3):
        for x, y in loader:
            logits = model(x)  # GF004: add 'del logits'
            loss = criterion(logits, y)  # GF001: add 'del loss'
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            outputs = model(X)
        print(outputs)


def epochs_of_two_loss_terms(G, D, loader, opt, criterion):
    for epoch in range(3):
        for x, y in loader:
            real_loss = criterion(D(x), y)  # GF001: add 'del real_loss'
            fake_loss = criterion(D(G(x)), y)  # GF001: add 'del fake_loss'
            d_loss = (real_loss + fake_loss) / 2  # GF001: add 'del d_loss'
            d_loss.backward()
            opt.step()


def an_inner_break_keeps_it_for_the_outer_forward(model, loader, X, criterion):
    for epoch in range(3):
        for x, y in loader:
            logits = model(x)  # GF004: no autofix
            if y is None:
                break
            loss = criterion(logits, y)  # GF001: add 'del loss'
            loss.backward()
        with torch.no_grad():
            outputs = model(X)
        print(outputs)


# The same at module level.
for epoch in range(3):
    for x, y in loader:
        real_loss = criterion(D(x), y)  # GF001: add 'del real_loss'
        fake_loss = criterion(D(G(x)), y)  # GF001: add 'del fake_loss'
        d_loss = (real_loss + fake_loss) / 2  # GF001: add 'del d_loss'
        d_loss.backward()
        opt.step()
