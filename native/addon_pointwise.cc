// The bindings of the kernels that go value by value: activations, GELU and the SGD step.
#include "addon.h"
#include "args.h"
#include "kernels.h"

namespace addon {
namespace {

const Binding list[] = {
    BIND("activationForward",
         {
           int kind = a.i32(0, "kind", 0, 2), len = a.i32(3, "len", 0, kBig);
           float *y = a.arr<float>(1, "y", len), *x = a.arr<float>(2, "x", len);
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { activation_forward(kind, y, x, len, t); };
         }),
    BIND("activationBackward",
         {
           int kind = a.i32(0, "kind", 0, 2), len = a.i32(4, "len", 0, kBig);
           float *dx = a.arr<float>(1, "dx", len), *dy = a.arr<float>(2, "dy", len), *y = a.arr<float>(3, "y", len);
           int t = a.i32(5, "threads", 1, max_threads());
           return [=] { activation_backward(kind, dx, dy, y, len, t); };
         }),
    BIND("geluForward",
         {
           int len = a.i32(2, "len", 0, kBig);
           float *y = a.arr<float>(0, "y", len), *x = a.arr<float>(1, "x", len);
           int t = a.i32(3, "threads", 1, max_threads());
           return [=] { gelu_forward(y, x, len, t); };
         }),
    BIND("geluBackward",
         {
           int len = a.i32(3, "len", 0, kBig);
           float *dx = a.arr<float>(0, "dx", len), *dy = a.arr<float>(1, "dy", len), *x = a.arr<float>(2, "x", len);
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { gelu_backward(dx, dy, x, len, t); };
         }),
    BIND("sgdStep",
         {
           int len = a.i32(3, "len", 0, kBig);
           float *w = a.arr<float>(0, "w", len), *g = a.arr<float>(1, "g", len), *v = a.arr<float>(2, "v", len, true);
           SgdOptions o{(float)a.num(4, "lr"), (float)a.num(5, "momentum"), (float)a.num(6, "weightDecay"),
                        a.flag(7, "nesterov"), a.flag(8, "first")};
           int t = a.i32(9, "threads", 1, max_threads());
           return [=] { sgd_step(w, g, v, len, o, t); };
         }),
};

}  // namespace

const Bindings pointwiseBindings = table(list);

}  // namespace addon
