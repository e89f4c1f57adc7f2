# An evaluation script with no backward anywhere: analysed because it calls .eval() and
# load_state_dict(), which are evidence of a module whose parameters require grad.
import torch
from torchvision.models import resnet18

model = resnet18()
model.load_state_dict(torch.load("weights.pt"))
model.eval()

preds = []
for x, y in loader:  # outside torch.no_grad(): every batch builds a graph
    out = model(x)  # GF002: run it under 'with torch.no_grad():' if it only evaluates); add 'del out'
    preds.append(out.argmax(1))  # argmax severs the graph: nothing accumulates
    print((out.argmax(1) == y).float().mean().item())

with torch.no_grad():
    for x, y in loader:
        out = model(x)
        preds.append(out)

scores = []
for x, _ in loader:
    scores.append(model(x).softmax(-1))  # GF006: one more autograd graph is kept every iteration; wrap the stored value
print(len(scores))


def report(path, loader):
    helper = Pipeline.from_pretrained(path)  # no evidence: a pipeline, not a module
    for x in loader:
        caption = helper(x)
        print(caption)


def accuracy_outside_no_grad(model, loader):  # old code: Variable(volatile=True) no longer stops grad
    model.eval()
    for img, label in loader:
        out = model(img)  # GF002: this loop never runs backward
        _, pred = torch.max(out, 1)  # GF002: '_'
        print((pred == label).sum().item())


class Stats:  # its loop runs only from a method decorated with inference_mode: no graph to keep
    def precalc(self):
        feats = []
        for x in self.loader:
            feats.append(self.features(x))
        feats = torch.cat(feats).cpu().numpy()
        self.mean = feats.mean(0)

    def features(self, x):
        self.inception.eval()
        return self.inception(x)[0]

    @torch.inference_mode()
    def score(self):
        self.precalc()
        return self.mean
