import torch

model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

for step in range(100):
    optimizer.zero_grad()
    loss = model(torch.randn(8, 4)).pow(2).mean()
    loss.backward()  # frees the saved tensors, not the graph's nodes
    # take a step
    optimizer.step()
    if step % 10 == 0:
        print(step)
