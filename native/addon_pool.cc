// The bindings of max and average pooling.
#include "addon.h"
#include "args.h"
#include "kernels.h"

namespace addon {
namespace {

const Binding list[] = {
    BIND("maxPool2dForward",
         {
           PoolGeom g = a.pool(3);
           int64_t ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *y = a.arr<float>(0, "y", ys);
           int *am = a.arr<int>(1, "argmax", ys);
           float *x = a.arr<float>(2, "x", Args::prod({g.n, g.c, g.h, g.w}));
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { maxpool_forward(y, am, x, g, t); };
         }),
    BIND("maxPool2dBackward",
         {
           PoolGeom g = a.pool(3);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *dx = a.arr<float>(0, "dx", xs), *dy = a.arr<float>(1, "dy", ys);
           int *am = a.arr<int>(2, "argmax", ys);
           // argmax values are write positions in dx: each must lie inside it.
           for (int64_t i = 0; am && i < ys; i++)
             if (am[i] < 0 || am[i] >= xs)
               a.fail("argument argmax: argmax[%lld] = %d lies outside dx's %lld values", (long long)i, am[i],
                      (long long)xs);
           int t = a.i32(4, "threads", 1, max_threads());
           return [=] { maxpool_backward(dx, dy, am, g, t); };
         }),
    BIND("avgPool2dForward",
         {
           PoolGeom g = a.pool(2);
           float *y = a.arr<float>(0, "y", Args::prod({g.n, g.c, g.oh, g.ow}));
           float *x = a.arr<float>(1, "x", Args::prod({g.n, g.c, g.h, g.w}));
           int t = a.i32(3, "threads", 1, max_threads());
           return [=] { avgpool_forward(y, x, g, t); };
         }),
    BIND("avgPool2dBackward",
         {
           PoolGeom g = a.pool(2);
           float *dx = a.arr<float>(0, "dx", Args::prod({g.n, g.c, g.h, g.w}));
           float *dy = a.arr<float>(1, "dy", Args::prod({g.n, g.c, g.oh, g.ow}));
           int t = a.i32(3, "threads", 1, max_threads());
           return [=] { avgpool_backward(dx, dy, g, t); };
         }),
};

}  // namespace

const Bindings poolBindings = table(list);

}  // namespace addon
