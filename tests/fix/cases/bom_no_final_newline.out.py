def train(model, loader):
    for x in loader:
        loss = model(x)
        loss.backward()
        del loss