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
- a loss scaler called with the loss and the optimizer (`loss_scaler(loss, optimizer)`, timm's
  and MAE's NativeScaler): a callee whose name ends in SCALER, in any case (`LossScaler`).

A file that only evaluates is analysed when it calls EVALUATION_METHODS (`model.eval()`,
`load_state_dict(...)`): a graph can be kept there outside `torch.no_grad()`.

This module imports nothing: the pre-check runs before LibCST, even before CPython's ast.
"""
import re

BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
AUTOGRAD_MODULES = frozenset({"torch.autograd", "autograd"})
AUTOGRAD_FUNCTIONS = frozenset({"backward", "grad"})  # torch.autograd.backward, torch.autograd.grad
SCALER = "scaler"
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
    "evaluate", "predict", "fit", "test", "validate", "save_model", "push_to_hub", "log"})


def is_scaler(callee: str, positional: int, keywords) -> bool:
    """`loss_scaler(loss, optimizer, ...)`: a callee named so that is handed the loss and the
    optimizer it steps (a second positional argument, or `optimizer=`/`parameters=`) is a backward
    of its first argument. `is_scaler(x)` or `GradScaler(2.0 ** 16)` hand it no optimizer."""
    return callee.lower().endswith(SCALER) and positional >= 1 and (
        positional >= 2 or bool({"optimizer", "parameters"} & set(keywords)))


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
    + r"|(?i:" + SCALER + r")"
    + r"|" + "|".join(r"\." + m if m == "eval" else m  # `.eval(`, not the builtin `eval(`
                      for m in sorted(EVALUATION_METHODS))
    + r"|autograd\.(?:" + "|".join(sorted(AUTOGRAD_FUNCTIONS)) + r"))\s*\("
    + r"|\bfrom[ \t]+torch\.autograd[ \t]+import\b(?:[ \t]*\([^)]*|[^\n#(]*)\b(?:"
    + "|".join(sorted(AUTOGRAD_FUNCTIONS)) + r")\b")
PRECHECK_BYTES = re.compile(PRECHECK.pattern.encode())
