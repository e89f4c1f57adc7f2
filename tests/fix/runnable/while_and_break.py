# A stand-in tensor loop: the blog's while loop, break, and names the fix must not touch.
class T:
    def __init__(self, v):
        self.v = v

    def backward(self, retain_graph=False):
        print("backward", self.v, retain_graph)


step = 0
history = []
while step < 5:
    loss = T(step)
    loss.backward()
    history.append(step)
    step += 1

while True:
    last = T(step)
    last.backward()
    if step > 7:
        break
    step += 1
print("last", last.v)

for s in range(3):
    out = T(s); aux = T(-s); out.backward(); aux.backward()
print(history)
