for x in xs: a = f(x); a.backward()
for x in xs:
    a = f(x); a.backward(); opt.step()
for x in xs:
    a = f(x)
    if bad(a): continue
    a.backward()
