# Issue 21: small false positives and misworded findings seen on real code.
import torch


def gradient_penalty(net, x):
    return (net(x) ** 2).mean()


def train_gan(D, loader, opt):
    for x in loader:
        gp = gradient_penalty(D, x)  # GF001: 'gp' keeps its autograd graph's nodes
        loss = D(x).mean() + 10 * gp  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def train_tuple(model, loader, opt):
    for x, _ in loader:  # the header rebinds '_' before the next forward
        loss, _, _ = model(x)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def train_rebound_first(model, loader, opt):
    for batch in loader:
        x, aux = batch  # rebinds 'aux' before the next forward, on every path
        loss, aux = model(x)  # GF001: add 'del loss'
        loss.backward()
        opt.step()


def train_rebound_after_a_forward(model, loader, opt):
    for batch in loader:
        warm = model(batch)  # GF002: add 'del warm'
        x, aux = batch
        loss, aux = model(x)  # GF001: add 'del loss' | GF004: add 'del aux'
        loss.backward()
        opt.step()
