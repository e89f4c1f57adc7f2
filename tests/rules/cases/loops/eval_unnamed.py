# `.eval()` on something without a name (an element of a list) is no evidence that any other
# object is a module: nothing here is known to build a graph.
import torch


def run(fn, x):
    return fn(x)


def predict(nets, items, loader):
    nets[0].eval()
    outs = []
    for x in loader:
        out = run(items[0], x)
        outs.append(out)
        tags = tagger.tag(x)
        print(tags)
    return outs
