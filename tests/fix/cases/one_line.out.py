for x in xs: a = f(x); a.backward(); del a
for x in xs:
    a = f(x); a.backward(); del a; opt.step()
for x in xs:
    a = f(x)
    if bad(a): del a; continue
    a.backward()
    del a
