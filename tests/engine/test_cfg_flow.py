"""The engine on its own: control flow, definite assignment and liveness across the back edge."""
import textwrap

import libcst as cst

from flake8_graphfree.engine.builder import build_scope
from flake8_graphfree.engine.flow import (UNBOUND, first_read, is_bound, maybe_bound,
                                          read_next_iteration, reaching, reaching_in_scope,
                                          survives)
from flake8_graphfree.engine.names import NameScanner


def scope_of(src):
    module = cst.parse_module(textwrap.dedent(src))
    func = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    return build_scope(func, NameScanner())


def node_of(scope, code):
    """The first statement node whose source is `code`."""
    mod = cst.Module([])
    for n in scope.nodes:
        if n.kind in ("stmt", "return", "continue", "break") and n.cst is not None:
            if mod.code_for_node(n.cst).strip() == code:
                return n
    raise AssertionError(f"no node {code!r}")


def slot_after(scope, code):
    n = node_of(scope, code)
    return next(s for s in scope.nodes if s.kind == "slot" and s in n.succ)


def test_straight_line_binding_reaches_backward_and_survives():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                loss.backward()
                opt.step()
    """)
    loop = s.loops[0]
    state = reaching(s, loop, "loss")
    backward = node_of(s, "loss.backward()")
    assert is_bound(state[backward.id])
    assert survives(backward, "loss", loop)
    assert read_next_iteration("loss", loop) is None


def test_iteration_start_is_unbound_and_branches_merge_to_maybe():
    s = scope_of("""
        def f():
            for b in dl:
                if c:
                    loss = m(b)
                x = 1
    """)
    loop = s.loops[0]
    state = reaching(s, loop, "loss")
    x = node_of(s, "x = 1")
    assert maybe_bound(state[x.id]) and not is_bound(state[x.id])
    assert UNBOUND in state[x.id]


def test_rebinding_or_del_stops_survival():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                loss.backward()
                if c:
                    loss = loss.item()
                else:
                    del loss
    """)
    loop = s.loops[0]
    assert not survives(node_of(s, "loss.backward()"), "loss", loop)


def test_one_branch_without_rebinding_survives():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                loss.backward()
                if c:
                    loss = None
    """)
    assert survives(node_of(s, "loss.backward()"), "loss", s.loops[0])


def test_loop_carried_read_at_top_of_body():
    s = scope_of("""
        def f():
            loss = None
            for b in dl:
                if loss is not None:
                    print(loss.item())
                loss = m(b)
                loss.backward()
    """)
    assert read_next_iteration("loss", s.loops[0]) is not None


def test_while_test_reads_in_next_iteration():
    s = scope_of("""
        def f():
            loss = start()
            while loss.item() > 0.1:
                loss = m()
                loss.backward()
    """)
    assert read_next_iteration("loss", s.loops[0]) is not None


def test_reads_after_loop_and_in_else_are_live_but_not_next_iteration():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                loss.backward()
            else:
                print(loss)
    """)
    loop = s.loops[0]
    assert read_next_iteration("loss", loop) is None
    read = first_read(slot_after(s, "loss.backward()").succ, "loss")
    assert read is not None and loop.in_else(read)


def test_continue_goes_round_and_break_leaves():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                if bad:
                    continue
                if done:
                    break
                loss.backward()
            return loss
    """)
    loop = s.loops[0]
    cont, brk = node_of(s, "continue"), node_of(s, "break")
    assert loop.header in cont.succ
    assert loop.after in brk.succ
    assert loop.continues == [cont]


def test_while_true_has_no_exit_but_break():
    s = scope_of("""
        def f():
            while True:
                loss = m()
                loss.backward()
                if loss.item() < 0.1:
                    break
            return loss
    """)
    loop = s.loops[0]
    assert loop.after not in loop.header.succ
    # After the `if ...: break`, the only way to `return loss` is through a fresh binding.
    end_of_body = loop.body_block.slots[-1]
    assert first_read(end_of_body.succ, "loss") is None


def test_exception_edges_reach_handler_reads():
    s = scope_of("""
        def f():
            for b in dl:
                try:
                    loss = m(b)
                    loss.backward()
                    opt.step()
                except RuntimeError:
                    print(loss)
    """)
    backward_slot = slot_after(s, "loss.backward()")
    read = first_read(backward_slot.succ + backward_slot.exc, "loss")
    assert read is not None and read.kind == "stmt"  # the print in the handler


def test_finally_is_built_per_route():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                try:
                    if bad:
                        continue
                    loss.backward()
                finally:
                    log()
    """)
    logs = [n for n in s.nodes if n.kind == "stmt" and n.cst is not None
            and cst.Module([]).code_for_node(n.cst).strip() == "log()"]
    assert len(logs) == 3  # the continue route, the exception route and the fall-through route


def test_except_as_name_is_deleted_after_handler():
    s = scope_of("""
        def f():
            for b in dl:
                try:
                    x = m(b)
                except E as err:
                    pass
                err
    """)
    read = node_of(s, "err")
    state = reaching(s, s.loops[0], "err")
    assert not is_bound(state[read.id])


def test_nested_function_and_lambda_reads_are_captured():
    s = scope_of("""
        def f():
            for b in dl:
                loss = m(b)
                cbs.append(lambda: loss)
                def g():
                    return other
    """)
    assert {"loss", "other"} <= s.captured


def test_comprehension_reads_now_generator_reads_later():
    s = scope_of("""
        def f():
            for b in dl:
                xs = [y * loss for y in ys]
                gen = (y * late for y in ys)
    """)
    assert "loss" in node_of(s, "xs = [y * loss for y in ys]").uses
    assert "late" in s.captured and "y" not in s.captured


def test_walrus_with_as_and_match_capture_bind():
    s = scope_of("""
        def f():
            for b in dl:
                if (a := m(b)):
                    pass
                with ctx() as c:
                    pass
                match b:
                    case {"k": d}:
                        pass
    """)
    bound = set()
    for n in s.nodes:
        bound |= n.bound
    assert {"a", "c", "d"} <= bound


def test_global_and_nonlocal_recorded():
    s = scope_of("""
        def f():
            global g
            for b in dl:
                g = 1
    """)
    assert "g" in s.globals


def _reaching_by_sets(scope, loop, name, kills, exceptions):
    """The textbook answer, as a reference for flow.reaching (flow.reaching_in_scope where `loop`
    is None): sets of binding nodes, joined by union over the loop body's edges (the scope's)
    until nothing changes."""
    if loop is None:
        state = {scope.nodes[0].id: frozenset({UNBOUND})}
    else:
        header = loop.header
        init = ({header} if name in header.bound else {header, UNBOUND}
                if name in header.maybe else {UNBOUND})
        state = {s.id: frozenset(init) for s in header.succ if loop.contains(s)}
    changed = True
    while changed:
        changed = False
        for i, s in list(state.items()):
            n = scope.nodes[i]
            if i in kills or name in n.dels:
                out = frozenset({UNBOUND})
            elif name in n.bound:
                out = frozenset({n})
            else:
                out = s | {n} if name in n.maybe else s
            for m in n.succ + (n.exc if exceptions else []):
                inside = loop is None or loop.contains(m)
                if inside and not out <= state.get(m.id, frozenset()):
                    state[m.id] = state.get(m.id, frozenset()) | out
                    changed = True
    return state


def test_reaching_matches_plain_sets_on_generated_programs():
    """flow.reaching propagates bit masks and makes each node's set when asked: every node's set,
    for every loop, name, exception mode and some `del` slots, is the textbook one."""
    from pathlib import Path

    from flake8_graphfree.engine.scopes import scopes_with_loops
    from tests.fix.programs import program

    cases = sorted(Path(__file__).parent.parent.glob("rules/cases/**/*.py"))
    maybe = textwrap.dedent("""\
        def train(model, loader, ok):
            while (loss := model(0)) > 1:
                for x in loader:
                    if ok and (out := model(x)):
                        loss = out
                    elif x or (loss := model(x)):
                        continue
                    try:
                        out = model(loss) if ok and (aux := x) else out
                    except ValueError:
                        del out
                    loss.backward()
        """)
    checked = 0
    sources = [maybe] + [program(s) for s in range(40)] + [p.read_text() for p in cases]
    for seed, source in enumerate(sources):
        module = cst.parse_module(source)
        for owner, top in scopes_with_loops(module):
            scope = build_scope(owner, NameScanner(), top)
            names = sorted({name for n in scope.nodes for name in n.bound | n.maybe | n.dels})
            slots = [n.id for n in scope.nodes if n.kind == "slot"]
            for loop in scope.loops:
                for name in names:
                    for kills in (frozenset(), frozenset(slots[seed % 3::3])):
                        for exceptions in (True, False):
                            want = _reaching_by_sets(scope, loop, name, kills, exceptions)
                            got = reaching(scope, loop, name, kills=kills, exceptions=exceptions)
                            assert {i: got.get(i) for i in want} == want
                            assert all(i in got for i in want)
                            checked += 1
                    whole = reaching_in_scope(scope, name, frozenset(slots[seed % 3::3]))
                    want = _reaching_by_sets(scope, None, name, frozenset(slots[seed % 3::3]), True)
                    assert {i: whole.get(i) for i in want} == want
    assert checked > 1000


def test_one_search_from_several_starts_is_any_of_one_search_each():
    """flow.bypasses searches from all its starts at once (placement asks it about every binding
    of a name): the answer is whether one of them alone bypasses."""
    from flake8_graphfree.engine.flow import bypasses
    from flake8_graphfree.engine.scopes import scopes_with_loops
    from tests.fix.programs import program

    answers = []
    for seed in range(40):
        for owner, top in scopes_with_loops(cst.parse_module(program(seed))):
            scope = build_scope(owner, NameScanner(), top)
            for loop in scope.loops:
                body = scope.nodes[loop.body_start:loop.body_end]
                through = frozenset(n.id for n in body[::7])
                for name in sorted({x for n in body for x in n.bound}):
                    starts = [n for n in body if name in n.bound]
                    alone = [bypasses([n], name, loop, through) for n in starts]
                    answers.append(bypasses(starts, name, loop, through))
                    assert answers[-1] == any(alone)
    assert answers.count(True) > 20 and answers.count(False) > 20
