# Nothing here may be reported.


def deleted(model, loader):
    for x in loader:
        loss = model(x)
        loss.backward()
        del loss


def rebound_to_float(model, loader):
    for x in loader:
        loss = model(x)
        loss.backward()
        loss = loss.item()


def set_to_none(model, loader):
    for x in loader:
        loss = model(x)
        loss.backward()
        loss = None


def loop_carried(model, loader):
    loss = None
    for x in loader:
        if loss is not None:
            print(loss.item())
        loss = model(x)
        loss.backward()


def while_test_reads_it(model):
    loss = model()
    while loss.item() > 0.1:
        loss = model()
        loss.backward()


def no_backward(model, loader):  # not GF001; a graph-building loop without backward is GF002
    for x in loader:
        loss = model(x)  # GF002: this loop never runs backward
        print(loss.item())


def bound_outside_the_loop(model, x):
    loss = model(x)
    for _ in range(3):
        loss.backward(retain_graph=True)


def loop_target(losses):
    for loss in losses:
        loss.backward()


def backward_in_nested_function(model, loader):
    for x in loader:
        loss = model(x)  # GF002: this loop never runs backward

        def step():
            pass

        step()


def copied_to_another_holder(model, loader):
    prev = None
    for x in loader:
        if prev is not None:
            print(prev.item())
        loss = model(x)
        loss.backward()
        prev = loss


def stored_on_self(self, loader):
    for x in loader:
        loss = self.model(x)
        loss.backward()
        self.last_loss = loss


def noqa_silences(model, loader):
    for x in loader:
        loss = model(x)  # noqa: GF001
        loss.backward()
    for x in loader:
        loss = model(x)  # noqa
        loss.backward()


def backward_of_unrelated_name(model, loader, y):  # not GF001: `out` is never backwarded
    for x in loader:
        out = model(x)  # GF002: no backward uses it
        y.backward()
        print(out)


def inputs_of_a_loss_function(model, loader, loss_fn):
    # `labels` is data and `outputs` a forward output (not GF001's business): only a name the
    # backward tensor is computed from by arithmetic, indexing or methods is a target.
    for inputs, labels in loader:
        labels = labels.float()
        outputs = model(inputs)
        loss_fn(outputs, labels).backward()


def with_item_that_is_not_a_name(model, loader, locks):  # an unknown manager may swallow
    for x in loader:
        with locks[0]:
            loss = model(x)  # GF001: no autofix: 'loss' may be unbound where 'del' would go
        loss.backward()
