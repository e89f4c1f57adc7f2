for x in loader:
    loss = model(x)
    loss.backward()
