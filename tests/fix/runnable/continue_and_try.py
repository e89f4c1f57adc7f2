# A training loop on a stand-in tensor (no torch needed): continue, try/except, nested loop.
class T:
    def __init__(self, v):
        self.v = v

    def __mul__(self, k):
        return T(self.v * k)

    def backward(self):
        print("backward", self.v)

    def item(self):
        return self.v


def model(x):
    return T(x * 2)


for epoch in range(2):
    for x in range(6):
        loss = model(x)
        if x == 2:
            continue
        try:
            if x == 4:
                raise ValueError(x)
            (loss * 0.5).backward()
        except ValueError as e:
            print("skipped", e)
        print(epoch, x, loss.item())
