def train(model, loader, opt, scaler):
    """Docstring stays."""
    for i, (x, y) in enumerate(loader):  # trailing comment stays
        # the forward pass
        with torch.autocast("cuda"):
            loss = model(x, y)

        if not torch.isfinite(loss):  # skip NaN batches
            print("skipping", i)
            del loss
            continue
        elif i > 1000:
            break

        scaler.scale(loss).backward()
        del loss
        scaler.step(opt)  # step
        scaler.update()
    return model
