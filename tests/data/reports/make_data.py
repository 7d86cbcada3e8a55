"""The fixed results files of the report tests (run1.lw, run2.lw) and their golden outputs.

    python tests/data/reports/make_data.py          # rewrites the .lw files
    LINEWISE_UPDATE_GOLDEN=1 pytest tests/reports/test_reports_golden.py   # rewrites the goldens

The results are synthetic, with their source stored in them and file names that exist
nowhere, so the outputs depend on nothing but these files. run2 is run1 after an edit:
``Cart.total`` moved down three lines, got a line added and one line changed (and got
faster); ``parse_price`` is unchanged; ``legacy_discount`` was removed and ``Cart.add``
added; ``idle`` never ran in either; ``vanished`` has neither file nor stored source.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

META = {
    "linewise": "0.1.0",
    "python": "3.13.0",
    "implementation": "cpython",
    "argv": "shop.py --orders 500",
    "pid": "4242",
}

CART_V1 = '''\
def total(self, coupon=None):
    """Sum of the cart, after the coupon."""
    amount = 0
    for item in self.items:
        amount += parse_price(item.price) * item.quantity
    if coupon is not None:
        amount -= legacy_discount(amount, coupon)
    # never below zero
    return max(amount, 0)
'''

CART_V2 = '''\
def total(self, coupon=None):
    """Sum of the cart, after the coupon."""
    amount = 0
    prices = [parse_price(item.price) for item in self.items]
    for item, price in zip(self.items, prices):
        amount += price * item.quantity
    if coupon is not None:
        amount -= coupon.discount(amount)
    # never below zero
    return max(amount, 0)
'''

PARSE = '''\
def parse_price(text):
    # prices may come from HTML: "<b>12.50</b>" or even "<script>alert('x')</script>"
    text = text.replace("<b>", "").replace("</b>", "")
    if "</td>" in text or "&amp;" in text:
        raise ValueError(f"not a price: {text!r} — «unexpected»")
    return float(text)
'''

LEGACY = '''\
def legacy_discount(amount, coupon):
    return amount * coupon.rate
'''

ADD = '''\
def add(self, item):
    self.items.append(item)
'''

IDLE = '''\
def idle():
    pass
'''


def _lines(text):
    return text.splitlines(keepends=True)


def run1():
    from linewise import LineStats

    timings = {
        ("shop/cart.py", 10, "Cart.total"): [
            (12, 500, 150_000), (13, 25_500, 9_200_000), (14, 25_000, 61_000_000),
            (15, 500, 90_000), (16, 120, 2_400_000), (18, 500, 210_000)],
        ("shop/prices.py", 1, "parse_price"): [
            (3, 25_000, 18_000_000), (4, 25_000, 6_500_000), (6, 25_000, 11_000_000)],
        ("shop/cart.py", 40, "legacy_discount"): [(41, 120, 1_900_000)],
        ("shop/idle.py", 1, "idle"): [],
        ("gone/vanished.py", 7, "vanished"): [(8, 3, 0), (9, 3, 1_500)],
    }
    sources = {
        ("shop/cart.py", 10, "Cart.total"): _lines(CART_V1),
        ("shop/prices.py", 1, "parse_price"): _lines(PARSE),
        ("shop/cart.py", 40, "legacy_discount"): _lines(LEGACY),
        ("shop/idle.py", 1, "idle"): _lines(IDLE),
    }
    meta = dict(META, created="2026-01-02T03:04:05+0000",
                command="linewise run shop.py --orders 500")
    return LineStats(timings, 1e-9, meta, sources)


def run2():
    from linewise import LineStats

    timings = {
        ("shop/cart.py", 13, "Cart.total"): [
            (15, 500, 160_000), (16, 25_500, 8_900_000), (17, 25_500, 4_100_000),
            (18, 25_000, 5_600_000), (19, 500, 95_000), (20, 120, 800_000),
            (22, 500, 190_000)],
        ("shop/prices.py", 1, "parse_price"): [
            (3, 25_000, 17_000_000), (4, 25_000, 6_600_000), (6, 25_000, 11_500_000)],
        ("shop/cart.py", 5, "Cart.add"): [(6, 25_000, 3_000_000)],
        ("shop/idle.py", 1, "idle"): [],
        ("gone/vanished.py", 7, "vanished"): [(8, 3, 0), (9, 3, 1_200)],
    }
    sources = {
        ("shop/cart.py", 13, "Cart.total"): _lines(CART_V2),
        ("shop/prices.py", 1, "parse_price"): _lines(PARSE),
        ("shop/cart.py", 5, "Cart.add"): _lines(ADD),
        ("shop/idle.py", 1, "idle"): _lines(IDLE),
    }
    meta = dict(META, created="2026-01-02T04:05:06+0000",
                command="linewise run shop.py --orders 500")
    return LineStats(timings, 1e-9, meta, sources)


def main():
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "src"))
    from linewise.store import dump_stats

    dump_stats(run1(), os.path.join(HERE, "run1.lw"))
    dump_stats(run2(), os.path.join(HERE, "run2.lw"))


if __name__ == "__main__":
    main()
