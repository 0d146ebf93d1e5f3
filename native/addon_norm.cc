// The bindings of batch norm, and of batch norm fused with a max pooling on either side.
#include "addon.h"
#include "args.h"
#include "kernels.h"

namespace addon {
namespace {

const Binding list[] = {
    BIND("batchNormStats",
         {
           int n = a.i32(3, "n", 1, kBig), c = a.i32(4, "c", 1, kBig), hw = a.i32(5, "hw", 1, kBig);
           float *mean = a.arr<float>(0, "mean", c), *var = a.arr<float>(1, "variance", c);
           const float *x = a.arr<float>(2, "x", Args::prod({n, c, hw}));
           int t = a.i32(6, "threads", 1, max_threads());
           return [=] { batchnorm_stats(mean, var, x, n, c, hw, t); };
         }),
    BIND("batchNormForward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           int n = a.i32(8, "n", 1, kBig), c = a.i32(9, "c", 1, kBig), hw = a.i32(10, "hw", 1, kBig);
           int64_t xs = Args::prod({n, c, hw});
           float *y = a.arr<float>(2, "y", xs);
           const float *x = a.arr<float>(3, "x", xs), *mean = a.arr<float>(4, "mean", c);
           const float *invstd = a.arr<float>(5, "invstd", c), *gamma = a.arr<float>(6, "gamma", c, true);
           const float *beta = a.arr<float>(7, "beta", c, true);
           int t = a.i32(11, "threads", 1, max_threads());
           return [=] { batchnorm_forward(y, x, mean, invstd, gamma, beta, n, c, hw, act, t); };
         }),
    BIND("batchNormBackward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           int n = a.i32(11, "n", 1, kBig), c = a.i32(12, "c", 1, kBig), hw = a.i32(13, "hw", 1, kBig);
           int64_t xs = Args::prod({n, c, hw});
           // With an activation dx holds its gradient on the way: it is required.
           float *dx = a.arr<float>(2, "dx", xs, act.kind == kBnNone), *dgamma = a.arr<float>(3, "dgamma", c, true);
           float *dbeta = a.arr<float>(4, "dbeta", c, true);
           const float *dy = a.arr<float>(5, "dy", xs), *x = a.arr<float>(6, "x", xs);
           const float *mean = a.arr<float>(7, "mean", c), *invstd = a.arr<float>(8, "invstd", c);
           const float *gamma = a.arr<float>(9, "gamma", c, true), *beta = a.arr<float>(10, "beta", c, true);
           bool batch_stats = a.flag(14, "batchStats");
           int t = a.i32(15, "threads", 1, max_threads());
           return [=] {
             batchnorm_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, beta, n, c, hw, batch_stats, act, t);
           };
         }),
    BIND("batchNormMaxPoolForward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           PoolGeom g = a.pool(9);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *y = a.arr<float>(2, "y", ys);
           int *am = a.arr<int>(3, "argmax", ys);
           const float *x = a.arr<float>(4, "x", xs), *mean = a.arr<float>(5, "mean", g.c);
           const float *invstd = a.arr<float>(6, "invstd", g.c), *gamma = a.arr<float>(7, "gamma", g.c, true);
           const float *beta = a.arr<float>(8, "beta", g.c, true);
           int t = a.i32(10, "threads", 1, max_threads());
           return [=] { batchnorm_maxpool_forward(y, am, x, mean, invstd, gamma, beta, act, g, t); };
         }),
    BIND("batchNormMaxPoolBackward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           PoolGeom g = a.pool(13);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *dx = a.arr<float>(2, "dx", xs, true), *dgamma = a.arr<float>(3, "dgamma", g.c, true);
           float *dbeta = a.arr<float>(4, "dbeta", g.c, true);
           const float *dy = a.arr<float>(5, "dy", ys), *y = a.arr<float>(6, "y", ys);
           const int *am = a.arr<int>(7, "argmax", ys);
           const float *x = a.arr<float>(8, "x", xs), *mean = a.arr<float>(9, "mean", g.c);
           const float *invstd = a.arr<float>(10, "invstd", g.c), *gamma = a.arr<float>(11, "gamma", g.c, true);
           const float *beta = a.arr<float>(12, "beta", g.c, true);
           bool batch_stats = a.flag(14, "batchStats");
           int t = a.i32(15, "threads", 1, max_threads());
           return [=, &a] {
             if (!argmax_within_planes(am, g, t)) return a.argmax_in_planes(am, g);
             batchnorm_maxpool_backward(dx, dgamma, dbeta, dy, y, am, x, mean, invstd, gamma, beta, batch_stats, act, g,
                                        t);
           };
         }),
    BIND("maxPoolBatchNormStats",
         {
           PoolGeom g = a.pool(5);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *y = a.arr<float>(0, "y", ys), *mean = a.arr<float>(2, "mean", g.c),
                 *var = a.arr<float>(3, "variance", g.c);
           int *am = a.arr<int>(1, "argmax", ys);
           const float *x = a.arr<float>(4, "x", xs);
           int t = a.i32(6, "threads", 1, max_threads());
           return [=] { maxpool_batchnorm_stats(y, am, mean, var, x, g, t); };
         }),
    BIND("maxPoolBatchNormBackward",
         {
           BnAct act{a.i32(0, "act", kBnNone, kBnGelu), a.num(1, "slope")};
           PoolGeom g = a.pool(13);
           int64_t xs = Args::prod({g.n, g.c, g.h, g.w}), ys = Args::prod({g.n, g.c, g.oh, g.ow});
           float *dx = a.arr<float>(2, "dx", xs, true), *dgamma = a.arr<float>(3, "dgamma", g.c, true);
           float *dbeta = a.arr<float>(4, "dbeta", g.c, true), *dz = a.arr<float>(5, "dz", ys);
           const float *dy = a.arr<float>(6, "dy", ys), *x = a.arr<float>(7, "x", ys);
           const int *am = a.arr<int>(8, "argmax", ys);
           const float *mean = a.arr<float>(9, "mean", g.c), *invstd = a.arr<float>(10, "invstd", g.c);
           const float *gamma = a.arr<float>(11, "gamma", g.c, true), *beta = a.arr<float>(12, "beta", g.c, true);
           bool batch_stats = a.flag(14, "batchStats");
           int t = a.i32(15, "threads", 1, max_threads());
           return [=, &a] {
             if (!argmax_within_planes(am, g, t)) return a.argmax_in_planes(am, g);
             maxpool_batchnorm_backward(dx, dgamma, dbeta, dz, dy, x, am, mean, invstd, gamma, beta, batch_stats, act,
                                        g, t);
           };
         }),
};

}  // namespace

const Bindings normBindings = table(list);

}  // namespace addon
