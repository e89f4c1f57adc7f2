# Every backward call form GF001 recognises. A marker comment names the code and a part of the message.
import torch
from torch import autograd
from torch.autograd import backward
from torch.autograd import backward as autograd_backward


def plain(model, loader, opt):
    for x in loader:
        loss = model(x)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def expression_receiver(model, loader, accum):
    for i, x in enumerate(loader):
        loss = model(x)  # GF001: add 'del loss'
        (loss / accum).backward()


def sum_of_two(model, loader):
    for x in loader:
        mse = model(x)  # GF001: add 'del mse'
        reg = model.penalty()  # GF001: add 'del reg'
        (mse + 0.1 * reg).backward()


def amp(model, loader, scaler, opt):
    for x in loader:
        with torch.autocast("cuda"):
            loss = model(x)  # GF001: add 'del loss'
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()


def hf_accelerate(model, loader, accelerator):
    for batch in loader:
        outputs = model(**batch)  # GF004: add 'del outputs'
        loss = outputs.loss  # GF001: add 'del loss'
        accelerator.backward(loss)


def lightning_fabric(model, loader, fabric):
    for batch in loader:
        loss = model(batch)  # GF001: add 'del loss'
        fabric.backward(loss)


class Module:
    def manual(self, loader):
        for batch in loader:
            loss = self.step(batch)  # GF001: add 'del loss'
            self.manual_backward(loss)


def deepspeed(model_engine, engine, loader, optimizer):
    for batch in loader:
        loss = model_engine(batch)  # GF001: add 'del loss'
        model_engine.backward(loss)
        model_engine.step()
    for batch in loader:
        loss = engine(batch)  # GF001: add 'del loss'
        engine.backward(loss)
    for batch in loader:
        loss = model_engine(batch)  # GF001: add 'del loss'
        optimizer.backward(loss)


def functional(model, loader):
    for x in loader:
        loss = model(x)  # GF001: add 'del loss'
        torch.autograd.backward(loss)
    for x in loader:
        a = model(x)  # GF001: add 'del a'
        b = model(x)  # GF001: add 'del b'
        torch.autograd.backward([a, b])
    for x in loader:
        loss = model(x)  # GF001: add 'del loss'
        autograd.backward(loss)
    for x in loader:
        loss = model(x)  # GF001: add 'del loss'
        backward(loss)
    for x in loader:
        loss = model(x)  # GF001: add 'del loss'
        autograd_backward(loss)


def with_gradient_argument(model, loader, g):
    for x in loader:
        y = model(x)  # GF001: add 'del y'
        y.backward(g)


def retained(model, loader):
    for x in loader:
        loss = model(x)  # GF003: keeps its whole autograd graph alive into the next iteration (retain_graph=True
        loss.backward(retain_graph=True)


def distributed_autograd(model, loader, opt):
    import torch.distributed.autograd as dist_autograd

    for x in loader:
        with dist_autograd.context() as context_id:
            loss = model(x)  # GF001: add 'del loss'
            dist_autograd.backward(context_id, [loss])
            opt.step(context_id)


def backward_on_a_reduction_of_outputs(model, loader, opt):  # pytorch/examples' tensor parallel
    for inp in loader:
        output = model(inp)  # GF004: add 'del output'
        output.sum().backward()
        opt.step()


def backward_on_an_output_object_field(model, loader, opt):  # `outputs.loss.backward()`
    for batch in loader:
        outputs = model(**batch)  # GF004: add 'del outputs'
        outputs.loss.backward()
        opt.step()


def backward_on_a_gathered_loss(model, loader, opt):  # DataParallel: one loss per device
    # What the model returns is reduced before the backward: by what the tool sees, an output
    # the loss was computed from, whatever it is named.
    for batch in loader:
        loss = model(batch)  # GF004: add 'del loss'
        loss.mean().backward()
        opt.step()
