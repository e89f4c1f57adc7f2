# -*- coding: latin-1 -*-
# café
def train(model, loader):
    for x in loader:
        loss = model(x)  # été
        loss.backward()
        del loss
