# An evaluation script that reaches its model only through a function of its own: the text check
# passes on .eval(), and the module-wide facts must see that the helper forwards the model.
import torch


def load(path):
    net = Net()
    net.load_state_dict(torch.load(path))
    return net.eval()


def run(model, x):
    return model(x)


def embed(x):
    return encoder(x)


encoder = load("enc.pt")
model = load("weights.pt")
model.eval()
encoder.eval()
preds = []
for x in loader:
    out = run(model, x)  # GF002: this loop never runs backward
    preds.append(out)  # GF006: one more autograd graph is kept every iteration
    feats = embed(x)  # GF002: this loop never runs backward
    print(feats.norm().item())
