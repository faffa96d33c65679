/* Prints libvmaf's integer motion and motion2 of a 576x324 yuv420p10le clip per frame, at full
 * precision: the source of ../motion_libvmaf_v2.3.1.json. Build libvmaf v2.3.1 (meson, static),
 * then: cc -O1 motion.c -I<libvmaf>/include -I<build>/include <build>/src/libvmaf.a \
 *    -lm -lpthread -lstdc++
 * and run it on a clip (the reference of each scored pair). A second argument is libvmaf's cpumask
 * (255 turns off the AVX2 and AVX-512 paths; the values are the same). Only the reference
 * clip is read: motion does not look at the distorted one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvmaf/libvmaf.h>

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    const char *path = argv[1];
    unsigned w = 576, h = 324, frames = 3;
    int cpumask = argc > 2 ? atoi(argv[2]) : 0;
    VmafConfiguration cfg = { .log_level = VMAF_LOG_LEVEL_NONE, .n_threads = 0, .n_subsample = 1, .cpumask = cpumask };
    VmafContext *vmaf;
    if (vmaf_init(&vmaf, cfg)) return 1;
    if (vmaf_use_feature(vmaf, "motion", NULL)) return 2;
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    for (unsigned i = 0; i < frames; i++) {
        /* Motion reads only the reference; the distorted picture is a copy of it. */
        VmafPicture ref, dist;
        vmaf_picture_alloc(&ref, VMAF_PIX_FMT_YUV420P, 10, w, h);
        vmaf_picture_alloc(&dist, VMAF_PIX_FMT_YUV420P, 10, w, h);
        for (int p = 0; p < 3; p++) {
            for (unsigned y = 0; y < ref.h[p]; y++) {
                if (fread((char *)ref.data[p] + y * ref.stride[p], 2, ref.w[p], f) != ref.w[p]) return 3;
                memcpy((char *)dist.data[p] + y * dist.stride[p], (char *)ref.data[p] + y * ref.stride[p], ref.w[p] * 2);
            }
        }
        if (vmaf_read_pictures(vmaf, &ref, &dist, i)) return 4;
    }
    if (vmaf_read_pictures(vmaf, NULL, NULL, 0)) return 5;
    for (unsigned i = 0; i < frames; i++) {
        double m = -1, m2 = -1;
        vmaf_feature_score_at_index(vmaf, "VMAF_integer_feature_motion_score", &m, i);
        vmaf_feature_score_at_index(vmaf, "VMAF_integer_feature_motion2_score", &m2, i);
        printf("%u %.17g %.17g\n", i, m, m2);
    }
    vmaf_close(vmaf);
    return 0;
}
