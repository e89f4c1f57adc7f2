import torch


def train(model, loader, optimizer, criterion):
    for x, y in loader:
        optimizer.zero_grad()
        logits = model(x)  # GF004: deleted right after its last use, before backward
        loss = criterion(logits, y)
        if not torch.isfinite(loss):
            continue  # GF002: this path skips the backward
        loss.backward(retain_graph=False)
        optimizer.step()


def evaluate(model, loader):
    total, history = 0.0, []
    for x, y in loader:
        out = model(x)  # GF002: no backward in this loop, and no torch.no_grad()
        total += out.mean()  # GF005
        history.append(out.sum())  # GF006
    print(f"{float(total):.3f} over {len(history)} batches")
