"""Methods and descriptors of every kind, partials, cached_property, nested classes."""
import functools


def scale(factor, x):
    y = x * factor  # L:sc_mul
    return y  # L:sc_ret


double = functools.partial(scale, 2)


class Shape:
    sides = 0

    def __init__(self, size):
        self._size = size  # L:init_size
        self.log = []  # L:init_log

    def area(self):
        s = self._size  # L:area_s
        return s * s  # L:area_ret

    @classmethod
    def unit(cls):
        return cls(1)  # L:unit_ret

    @staticmethod
    def describe(n):
        text = "shape of %d" % n  # L:desc_text
        return text  # L:desc_ret

    @property
    def size(self):
        return self._size  # L:get_ret

    @size.setter
    def size(self, value):
        if value < 0:  # L:set_check
            raise ValueError(value)  # L:set_raise
        self._size = value  # L:set_assign

    @size.deleter
    def size(self):
        self.log.append("del")  # L:del_log
        self._size = 0  # L:del_zero

    def resize(self, factor, extra=0):
        self._size = self._size * factor + extra  # L:rs_assign
        return self  # L:rs_ret

    grow = functools.partialmethod(resize, 2)

    @functools.cached_property
    def perimeter(self):
        p = 4 * self._size  # L:cp_p
        return p  # L:cp_ret

    class Meta:
        def tag(self):
            return "meta"  # L:meta_tag

        class Deeper:
            def depth(self):
                return 2  # L:deeper_depth


class Square(Shape):
    sides = 4

    def area(self):
        base = super().area()  # L:sq_super
        return base  # L:sq_ret
