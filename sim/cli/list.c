/* list.c: `servesim list`: every registered plug-in and its options. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "autoscale/autoscale.h"
#include "client/client.h"
#include "engine/engine.h"
#include "cost/cost.h"
#include "fleet/fleet.h"
#include "format.h"
#include "predict/predict.h"
#include "sched/sched.h"
#include "synth.h"

static int list_models(void)
{
    char **names;
    size_t n;
    if (cost_spec_names("models", &names, &n)) return cli_fail_lib();
    printf("models (--model NAME, or a path to a spec file)\n");
    printf("  %-18s %9s %7s %12s %9s %14s\n", "name", "params_B", "layers", "heads/kv", "context", "kv_KiB/token");
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        ModelSpec m;
        if (model_spec_load(&m, names[i])) { status = cli_fail_lib(); continue; }
        char heads[32];
        snprintf(heads, sizeof(heads), "%d/%d", m.heads, m.kv_heads);
        printf("  %-18s %9.3g %7d %12s %9d %14.1f\n", m.name, m.params / 1e9, m.layers, heads, m.max_context,
               m.kv_bytes_per_token / 1024);
    }
    cost_spec_names_free(names, n);
    if (cost_hf_names(&names, &n)) return cli_fail_lib();
    printf("Hugging Face configs (--model NAME, models/hf/NAME/config.json; or a path to a config.json)\n");
    printf("  %-20s %-12s %9s %9s %7s %9s %12s %9s %14s\n", "name", "family", "params_B", "active_B", "layers",
           "experts", "attention", "weights", "kv_KiB/token");
    for (size_t i = 0; i < n; i++) {
        ModelSpec m;
        if (model_spec_load(&m, names[i])) { status = cli_fail_lib(); continue; }
        char experts[32], attn[32];
        if (m.experts) snprintf(experts, sizeof(experts), "%d/%d+%d", m.experts_per_token, m.experts, m.shared_experts);
        else snprintf(experts, sizeof(experts), "-");
        if (m.kv_lora_rank) snprintf(attn, sizeof(attn), "MLA %d+%d", m.kv_lora_rank, m.qk_rope_head_dim);
        else snprintf(attn, sizeof(attn), "GQA %d/%d", m.heads, m.kv_heads);
        const char *w = m.expert_bytes_per_param < 1 ? "mxfp4-moe" : m.bytes_per_param == 1 ? "fp8" : "bf16";
        printf("  %-20s %-12s %9.2f %9.2f %7d %9s %12s %9s %14.1f\n", m.name, m.source, m.params / 1e9,
               m.active_params / 1e9, m.layers, experts, attn, w, m.kv_bytes_per_token / 1024);
    }
    cost_spec_names_free(names, n);
    return status;
}

static int list_gpus(void)
{
    char **names;
    size_t n;
    if (cost_spec_names("gpus", &names, &n)) return cli_fail_lib();
    printf("gpus (--gpu NAME, or a path to a spec file)\n");
    printf("  %-18s %8s %9s %12s %12s\n", "name", "HBM_GiB", "HBM_TB/s", "bf16_TFLOP/s", "USD/GPU-h");
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        GpuSpec g;
        if (gpu_spec_load(&g, names[i])) { status = cli_fail_lib(); continue; }
        printf("  %-18s %8.1f %9.2f %12.4g %12.2f\n", g.name, g.hbm_bytes / 1073741824.0, g.hbm_bandwidth / 1e12,
               g.flops_16bit / 1e12, g.price_per_hour);
    }
    cost_spec_names_free(names, n);
    return status;
}

int cmd_list(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: servesim list [schedulers|predictors|routers|cost|formats|models|gpus|clients|workloads|autoscalers]\n"
               "Prints every registered plug-in with its options (name type default help), the\n"
               "cost models (--cost; 'backends' is the same list), and the model and GPU specs\n"
               "of the models directory (--model, --gpu).\n");
        return 0;
    }
    if (argc > 2) {
        cli_fail("list: one kind at most (see servesim list --help)");
        return CLI_EXIT_USAGE;
    }
    const char *only = argc >= 2 ? argv[1] : NULL;
    static const char *const kinds[] = { "schedulers", "predictors", "routers", "cost", "backends", "formats",
                                         "models", "gpus", "clients", "workloads", "autoscalers" };
    bool known = !only;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !known; i++) known = !strcmp(only, kinds[i]);
    if (!known) {
        cli_fail("list: unknown kind '%s' (schedulers, predictors, routers, cost, formats, models, gpus, clients, workloads, autoscalers)", only);
        return CLI_EXIT_USAGE;
    }
    if (!only || !strcmp(only, "schedulers")) {
        printf("schedulers (--sched NAME:key=value,...)\n");
        for (const SchedOps *const *s = sched_registry; *s; s++) {
            printf("  %-18s %s\n", (*s)->name, (*s)->help);
            opts_print(stdout, (*s)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "predictors")) {
        printf("predictors (--predict NAME:key=value,...)\n");
        for (const PredictorOps *const *p = predictor_registry; *p; p++) {
            printf("  %-18s %s\n", (*p)->name, (*p)->help);
            opts_print(stdout, (*p)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "routers")) {
        printf("routers (--router NAME:key=value,...)\n");
        for (const RouterOps *const *r = router_registry; *r; r++) {
            printf("  %-18s %s\n", (*r)->name, (*r)->help);
            opts_print(stdout, (*r)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "cost") || !strcmp(only, "backends")) {
        printf("cost models (--cost NAME:key=value,...)\n");
        printf("  %-18s %s\n", "auto", "the default: measured where the GPU has tables (a100-80g, h100-sxm), else roofline");
        for (const BackendOps *const *b = cost_backend_registry; *b; b++) {
            printf("  %-18s %s\n", (*b)->name, (*b)->help);
            opts_print(stdout, (*b)->opts, "      ");
        }
    }
    if (!only || !strcmp(only, "clients")) {
        printf("client models (--client NAME:key=value,...)\n");
        for (const ClientOps *const *c = client_registry; *c; c++) {
            printf("  %-18s %s\n", (*c)->name, (*c)->help);
            opts_print(stdout, (*c)->opts, "      ");
        }
        printf("admission control (--admission key=value,...; every scheduler)\n");
        opts_print(stdout, engine_admission_opts(), "      ");
    }
    if (!only || !strcmp(only, "autoscalers")) {
        printf("autoscaling policies (--autoscale NAME:key=value,...)\n");
        for (const AutoscaleOps *const *a = autoscale_registry; *a; a++) {
            printf("  %-18s %s\n", (*a)->name, (*a)->help);
            opts_print(stdout, (*a)->opts, "      ");
        }
    }
    if ((!only || !strcmp(only, "models")) && list_models()) return 1;
    if ((!only || !strcmp(only, "gpus")) && list_gpus()) return 1;
    if (!only || !strcmp(only, "formats")) {
        printf("trace formats (--format NAME; auto-detected from the header by default)\n");
        for (const TraceFormat *const *f = trace_format_registry; *f; f++)
            printf("  %-18s %s\n", (*f)->name, (*f)->help);
    }
    if (!only || !strcmp(only, "workloads")) {
        printf("workloads (--workload NAME:key=value,...; traces/README-synth.md: where each default comes from)\n");
        for (const SynthPreset *const *w = synth_presets; *w; w++) {
            printf("  %-18s %s\n", (*w)->name, (*w)->help);
            opts_print(stdout, (*w)->opts, "      ");
        }
    }
    return 0;
}
