"""What a backward is: the one table that the text pre-check (`might_have_findings`), the module
gate (module_facts.py, on CPython's ast) and the engine (names.py, on LibCST's tree) read, so that
no file is skipped by a check that knows fewer spellings than the analysis behind it.

A backward frees the tensors a graph saved; a loop that runs one trains. Its spellings:

- a method of the tensor (`loss.backward()`, `scaler.scale(loss).backward()`), of a training
  engine (`accelerator.backward(loss)`, `engine.backward(loss)`) or of a Lightning module
  (`self.manual_backward(loss)`): BACKWARD_METHODS;
- a function of `torch.autograd`, called through the module (`torch.autograd.grad(loss, x)`,
  `autograd.backward(loss)`) or imported (`from torch.autograd import grad as g; g(loss, x)`):
  AUTOGRAD_MODULES, AUTOGRAD_FUNCTIONS;
- a call of an object handed the loss first and what steps the parameters: an optimizer (a name
  that OPTIMIZER_METHODS are called on, or that an optimizer class built) or a module's
  `.parameters()` (timm's and MAE's NativeScaler, `loss_scaler(loss, optimizer,
  parameters=model.parameters())`), whatever the object is named: `steps_parameters`.

A file that only evaluates is analysed when it calls EVALUATION_METHODS (`model.eval()`,
`load_state_dict(...)`): a graph can be kept there outside `torch.no_grad()`.

This module imports nothing: the pre-check runs before LibCST, even before CPython's ast.
"""
import re

BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
AUTOGRAD_MODULES = frozenset({"torch.autograd", "autograd"})
AUTOGRAD_FUNCTIONS = frozenset({"backward", "grad"})  # torch.autograd.backward, torch.autograd.grad
OPTIMIZER_METHODS = frozenset({"zero_grad"})
PARAMETER_METHODS = frozenset({"parameters", "named_parameters"})
EVALUATION_METHODS = frozenset({"eval", "load_state_dict"})
# A call through a module with evidence is a forward (`model.backbone(x)`, `model.embed(ids)`,
# `model.module(x)` under DDP), except nn.Module's own methods that give no graph, Hugging Face's
# `generate`, which runs under no_grad, and a trainer object's entry points, which return metrics
# (`trainer.train()` is the same evidence as `model.train()`; `trainer.evaluate()` gives a dict).
MODULE_METHODS_WITHOUT_GRAPH = frozenset({
    "parameters", "named_parameters", "buffers", "named_buffers", "children", "named_children",
    "modules", "named_modules", "state_dict", "load_state_dict", "train", "eval", "to", "cuda",
    "cpu", "half", "float", "double", "bfloat16", "type", "zero_grad", "requires_grad_", "apply",
    "register_buffer", "register_parameter", "register_module", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook", "get_submodule",
    "get_parameter", "get_buffer", "extra_repr", "share_memory", "add_module", "generate",
    "save_pretrained", "num_parameters", "get_input_embeddings", "get_output_embeddings",
    "gradient_checkpointing_enable", "print_trainable_parameters", "merge_and_unload",
    "resize_token_embeddings", "tie_weights", "get_encoder", "get_decoder",
    "evaluate", "predict", "fit", "test", "validate", "save_model", "push_to_hub", "log",
    "step"})  # an optimizer's or a scheduler's (`opt.step()`), taken for a module by `.zero_grad()`


def steps_parameters(positional: int, handed: set, parameters: bool, optimizers) -> bool:
    """A call handed the loss (its first positional argument) and what steps the parameters: a
    name in `optimizers` among the names it is `handed` as its other arguments, or a module's
    `.parameters()` (`parameters`). It runs the backward of its first argument and the step."""
    return positional >= 1 and (parameters or bool(handed & optimizers))


# The loss functions of torch.nn.functional, and the positions of their inputs, by the API's
# `loss(input, target)` convention: what the loss is of, where its graph comes from; the other
# arguments are what the input is compared with (targets, labels, a teacher's output). Most have
# one input; those with more are listed. The `nn.*Loss` classes follow the same convention.
FUNCTIONAL_LOSSES = frozenset({
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "cross_entropy", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss",
    "kl_div", "l1_loss", "margin_ranking_loss", "mse_loss", "multi_margin_loss",
    "multilabel_margin_loss", "multilabel_soft_margin_loss", "nll_loss", "poisson_nll_loss",
    "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"})
LOSS_INPUTS = {"cosine_embedding_loss": (0, 1), "margin_ranking_loss": (0, 1),
               "triplet_margin_loss": (0, 1, 2), "triplet_margin_with_distance_loss": (0, 1, 2),
               "gaussian_nll_loss": (0, 2), "CosineEmbeddingLoss": (0, 1),
               "MarginRankingLoss": (0, 1), "TripletMarginLoss": (0, 1, 2),
               "TripletMarginWithDistanceLoss": (0, 1, 2), "GaussianNLLLoss": (0, 2)}


# Methods that move or convert a tensor: a graph only if their receiver has one (moving data does
# not make it part of a graph).
MOVE_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16",
                          "contiguous", "pin_memory", "type"})


def is_autograd_function(dotted: str) -> bool:
    """`torch.autograd.grad`, `autograd.backward` (dotted, as written)."""
    module, _, name = dotted.rpartition(".")
    return name in AUTOGRAD_FUNCTIONS and module in AUTOGRAD_MODULES


# The text pre-check: a call of any of the above, or an import of a torch.autograd function (which
# can then be called under any name). A call, not a word: `backward` in a comment is no reason to
# parse (the pre-check also skips matches after a `#`).
PRECHECK = re.compile(
    r"(?:" + "|".join(sorted(BACKWARD_METHODS))
    + r"|" + "|".join(sorted(OPTIMIZER_METHODS))
    + r"|" + "|".join(r"\." + m if m == "eval" else m  # `.eval(`, not the builtin `eval(`
                      for m in sorted(EVALUATION_METHODS))
    + r"|autograd\.(?:" + "|".join(sorted(AUTOGRAD_FUNCTIONS)) + r"))\s*\("
    # a module's parameters handed to a call (`f(loss, opt, parameters=model.parameters())`),
    # not looped over in a model's own code (`for p in self.parameters():`)
    + r"|\.(?:" + "|".join(sorted(PARAMETER_METHODS)) + r")\s*\(\s*\)\s*[,)]"
    + r"|\bfrom[ \t]+torch\.autograd[ \t]+import\b(?:[ \t]*\([^)]*|[^\n#(]*)\b(?:"
    + "|".join(sorted(AUTOGRAD_FUNCTIONS)) + r")\b")
PRECHECK_BYTES = re.compile(PRECHECK.pattern.encode())
