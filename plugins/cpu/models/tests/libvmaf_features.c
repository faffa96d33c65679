// Dev oracle: per-frame libvmaf 2.3.1 feature values at full precision.
// usage: features REF DIST W H SUB(420|422|444) BITS [-m MODEL] [-f FEATURE] [-o key=val]... -- NAME...
// -o applies to the last -f. Prints "frame\tNAME\tVALUE(%.17g)" lines; NAME "vmaf" = model score.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libvmaf/libvmaf.h>
#include <libvmaf/feature.h>
#include <libvmaf/model.h>
#include <libvmaf/picture.h>

static int read_pic(FILE *f, VmafPicture *p, int w, int h, int sub, int bits) {
    enum VmafPixelFormat fmt = sub == 420 ? VMAF_PIX_FMT_YUV420P : sub == 422 ? VMAF_PIX_FMT_YUV422P : VMAF_PIX_FMT_YUV444P;
    if (vmaf_picture_alloc(p, fmt, bits, w, h)) return -1;
    int bps = bits > 8 ? 2 : 1;
    for (int c = 0; c < 3; c++) {
        unsigned pw = p->w[c], ph = p->h[c];
        for (unsigned y = 0; y < ph; y++) {
            char *row = (char *)p->data[c] + y * p->stride[c];
            if (fread(row, bps, pw, f) != pw) { vmaf_picture_unref(p); return 1; }
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 8) { fprintf(stderr, "usage\n"); return 2; }
    const char *rp = argv[1], *dp = argv[2];
    int w = atoi(argv[3]), h = atoi(argv[4]), sub = atoi(argv[5]), bits = atoi(argv[6]);
    VmafConfiguration cfg = { .log_level = VMAF_LOG_LEVEL_WARNING, .n_threads = 0, .n_subsample = 1, .cpumask = 0 };
    VmafContext *ctx; if (vmaf_init(&ctx, cfg)) return 3;
    VmafModel *model = NULL;
    const char *feature = NULL; VmafFeatureDictionary *dict = NULL;
    int i = 7;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-m")) {
            VmafModelConfig mc = { .name = "vmaf", .flags = VMAF_MODEL_FLAGS_DEFAULT };
            const char *m = argv[++i];
            int err = strchr(m, '/') ? vmaf_model_load_from_path(&model, &mc, m) : vmaf_model_load(&model, &mc, m);
            if (err) { fprintf(stderr, "model load %d\n", err); return 4; }
            if (vmaf_use_features_from_model(ctx, model)) return 5;
        } else if (!strcmp(argv[i], "-f")) {
            if (feature) { if (vmaf_use_feature(ctx, feature, dict)) return 6; dict = NULL; }
            feature = argv[++i];
        } else if (!strcmp(argv[i], "-o")) {
            char *kv = strdup(argv[++i]); char *eq = strchr(kv, '='); *eq = 0;
            vmaf_feature_dictionary_set(&dict, kv, eq + 1);
        }
    }
    if (feature && vmaf_use_feature(ctx, feature, dict)) return 6;
    FILE *rf = fopen(rp, "rb"), *df = fopen(dp, "rb");
    if (!rf || !df) return 7;
    unsigned n = 0;
    for (;;) {
        VmafPicture r, d;
        if (read_pic(rf, &r, w, h, sub, bits)) break;
        if (read_pic(df, &d, w, h, sub, bits)) { vmaf_picture_unref(&r); break; }
        if (vmaf_read_pictures(ctx, &r, &d, n)) return 8;
        n++;
    }
    if (vmaf_read_pictures(ctx, NULL, NULL, 0)) return 9;
    for (unsigned f = 0; f < n; f++) {
        for (int j = i + 1; j < argc; j++) {
            double s;
            int err = !strcmp(argv[j], "vmaf") && model ? vmaf_score_at_index(ctx, model, &s, f)
                                                   : vmaf_feature_score_at_index(ctx, argv[j], &s, f);
            if (err) printf("%u\t%s\tERR%d\n", f, argv[j], err); else printf("%u\t%s\t%.17g\n", f, argv[j], s);
        }
    }
    return 0;
}
