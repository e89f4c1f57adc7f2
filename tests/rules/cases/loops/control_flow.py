# Findings and fixes through branches, continue, try, finally, match and conditional backward.


def skip_bad_batches(model, loader):
    for x in loader:
        loss = model(x)  # GF002: on the paths that skip its backward (saved tensors included); add 'del loss'
        if not torch.isfinite(loss):
            continue
        loss.backward()


def conditional_backward(model, loader, k):
    for step, x in enumerate(loader):
        loss = model(x)  # GF002: on the paths that skip its backward (saved tensors included); add 'del loss'
        if step % k == 0:
            loss.backward()


def branch_binds(model, loader):
    for x in loader:
        if x.train:
            loss = model(x)  # GF001: add 'del loss'
            loss.backward()
        else:
            print("skip")


def oom_retry(model, loader):
    for x in loader:
        try:
            loss = model(x)  # GF001: add 'del loss'
            loss.backward()
        except torch.cuda.OutOfMemoryError:
            continue
        opt.step()


def finally_cleanup(model, loader):
    for x in loader:
        loss = model(x)  # GF002: on the paths that skip its backward (saved tensors included); add 'del loss'
        try:
            if x is None:
                continue
            loss.backward()
        finally:
            cleanup()


def rebound_on_one_branch_only(model, loader):
    for x in loader:
        loss = model(x)  # GF001: add 'del loss'
        loss.backward()
        if log:
            loss = loss.item()
            print(loss)


def break_then_return(model):
    while True:
        loss = model()  # GF001: add 'del loss'
        loss.backward()
        if loss.item() < 0.1:
            break
    return loss


def backward_when_it_has_a_graph(model, loader, trainer):  # guided-diffusion's classifier loop
    for x in loader:
        loss = model(x).mean()  # GF001: add 'del loss'
        if loss.requires_grad:
            trainer.backward(loss)
