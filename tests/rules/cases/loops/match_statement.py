# match/case (Python 3.10+: skipped on older Pythons, where it is not valid syntax).


def matched(model, loader):
    for x in loader:
        match x:
            case {"input": inp}:
                loss = model(inp)
            case _:
                loss = model(x)  # GF001: add 'del loss'
        loss.backward()
