# Reported, never fixed: each reason a `del` could change what the program does.


def read_after_loop(model, loader):
    for x in loader:
        loss = model(x)  # GF001: no autofix: 'loss' is read after the loop
        loss.backward()
    return loss.item()


def read_in_else(model, loader):
    for x in loader:
        loss = model(x)  # GF001: no autofix: 'loss' is read in the loop's 'else:'
        loss.backward()
    else:
        print(loss.item())


def read_by_closure(model, loader, hooks):
    for x in loader:
        loss = model(x)  # GF001: no autofix: 'loss' is read by a nested function
        loss.backward()

        def report():
            return loss.item()

        hooks.append(report)


def read_by_lambda(model, loader, hooks):
    for x in loader:
        loss = model(x)  # GF001: no autofix: 'loss' is read by a nested function, class, lambda
        loss.backward()
        hooks.append(lambda: loss.item())


def declared_global(model, loader):
    global loss
    for x in loader:
        loss = model(x)  # GF001: no autofix: 'loss' is declared global
        loss.backward()


def declared_nonlocal(model, loader):
    loss = None

    def run():
        nonlocal loss
        for x in loader:
            loss = model(x)  # GF001: no autofix: 'loss' is declared nonlocal
            loss.backward()

    run()
    return loss


def maybe_unbound(model, loader):
    for x in loader:
        loss = model(x)  # GF001: no autofix: 'loss' may be unbound at every place a 'del' could go
        loss.backward()
        if x.last:
            del loss


def introspection(model, loader):
    for x in loader:
        loss = model(x)  # GF001: no autofix: the scope reads its names through locals()
        loss.backward()
        print(locals())


def outer_loop_reads(model, loader):
    for epoch in range(3):
        for x in loader:
            loss = model(x)  # GF001: no autofix: 'loss' is read after the loop
            loss.backward()
        print(epoch, loss.item())


def read_in_handler_after_loop(model, loader):
    try:
        for x in loader:
            loss = model(x)  # GF001: no autofix: 'loss' is read after the loop
            loss.backward()
            step()
    except RuntimeError:
        print(loss)
