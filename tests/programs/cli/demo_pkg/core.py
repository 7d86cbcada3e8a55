class Engine:
    def run(self, n):
        total = 0
        for i in range(n):
            total += self.step(i)
        return total

    def step(self, i):
        return i + 1


def free():
    def nested():
        return 7
    return nested()


def idle():
    return None
