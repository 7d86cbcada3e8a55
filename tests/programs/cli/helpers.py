def double(x):
    return x * 2


def unused():
    return None
