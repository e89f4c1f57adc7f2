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
