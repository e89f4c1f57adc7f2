def fit(model, loaders):
    for epoch in range(3):
        for x in loaders["train"]:
            mse = model(x)
            reg = model.penalty()
            (mse + reg).backward()
            del mse, reg
        for x in loaders["tune"]:
            tuned = model(x)  # noqa: GF001
            tuned.backward()
        for x in loaders["last"]:
            last = model(x)
            last.backward()
    return last
