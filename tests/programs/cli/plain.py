"""No decorators: profiled through -p only."""
import helpers


def compute(n):
    return sum(i * i for i in range(n))


class Shape:
    def area(self):
        return 6

    class Inner:
        def deep(self):
            return 1


def outer():
    def inner():
        return 5
    return inner()


if __name__ == "__main__":
    print("plain", compute(5), Shape().area(), Shape.Inner().deep(), outer(), helpers.double(4))
