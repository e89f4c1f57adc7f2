# At module level a deleted name would be visible to dir(): such a script is reported, not fixed,
# so its output cannot change. (The rest of the file is fixed as usual.)
class T:
    def __init__(self, v):
        self.v = v

    def backward(self):
        print("backward", self.v)


def train():
    for i in range(3):
        loss = T(i)
        loss.backward()


train()
for i in range(2):
    kept = T(i)
    kept.backward()
print(sorted(k for k in dir() if not k.startswith("_")))
