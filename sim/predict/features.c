/* features.c: request -> feature vector for the learned length predictors.
 *
 * Magnus predicts generation length from the user input length, an
 * application-level feature (the app's instruction) and user-level semantic
 * features (sentence embeddings).  We keep the first two as they are and
 * replace the embedding, which would need a downloaded model, with things
 * computed in C from the text itself:
 *
 *  - input length (tokens): in translation, code translation and code repair
 *    the output is roughly a fixed multiple of the input;
 *  - application: an id learned from the training rows, the instruction's
 *    length, and the app's training statistics (median and mean output,
 *    median output/input ratio, a least-squares line on input length).  Trees
 *    split poorly on an arbitrary id and cannot multiply, so handing them the
 *    app's typical length and a ratio-based estimate (input x ratio) lets a
 *    shallow split reach what a per-app model would;
 *  - text statistics: bytes, code points, words, lines, mean word length
 *    (the input token count mixes instruction and text; these measure the
 *    user's part alone), code-likeness (share of code punctuation, share of
 *    code-shaped lines: a chat prompt that contains code tends to get code
 *    back), script shares (ASCII, Latin extended, Cyrillic, CJK, other: the
 *    language changes tokens per word on both sides), question marks, list
 *    items, and two tiny keyword lists for asks of long ("write", "explain",
 *    "essay", ...) or short ("brief", "short", "only", ...) answers;
 *  - the answering model's median output for the app (features_model.c) and
 *    answer-length cues in the text (features_cues.c);
 *  - hashed n-grams: word unigrams and bigrams, and byte trigrams of the
 *    lower-cased text, each hashed with the seed and projected onto hash_dim
 *    random +-1 directions (one 64-bit hash gives all the signs), divided by
 *    sqrt(count).  That is a random projection of the bag of n-grams
 *    (Johnson-Lindenstrauss): a fixed-size, seeded stand-in for a sentence
 *    embedding that keeps which words and word pieces the text uses.
 *
 * Every computation is integer or deterministic float arithmetic on the
 * bytes, so the same seed gives the same vector everywhere. */
#include "predict/features.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "engine/rng.h"

#define NGRAM_SCAN_MAX 8192  /* bytes of text hashed: bounds cost on long prompts */

static const char *const feature_names[FEAT_BASE] = {
    "input_tokens", "app_id", "app_median_out", "app_mean_out", "app_ratio",
    "ratio_estimate", "app_line_estimate", "instr_bytes", "text_bytes",
    "text_chars", "text_words", "text_lines", "mean_word_len", "code_punct",
    "code_lines", "share_ascii_alpha", "share_digit", "share_latin_ext",
    "share_cyrillic", "share_cjk", "share_other", "questions", "long_ask",
    "short_ask", "list_items", "model_median_out", "model_factor", "ask_count",
    "ask_length_words", "ask_essay", "ask_explain", "ask_code", "ask_brief",
    "starts_question", "ask_steps",
};

static const char *const long_words[] = {
    "write", "explain", "describe", "essay", "story", "detailed", "detail",
    "implement", "code", "program", "article", "list", "steps", "compare",
    "create", "generate", "design", "plan", "poem", "script",
};
static const char *const short_words[] = {
    "brief", "briefly", "short", "shortly", "only", "just", "concise", "one",
    "yes", "no", "word", "sentence", "name", "number",
};

int features_init(FeatureSpace *fs, uint64_t seed, int32_t hash_dim)
{
    if (hash_dim < 0 || hash_dim > FEATURES_MAX_HASH_DIM)
        return ss_error_set(EINVAL, "features: hash_dim %d out of range [0, %d]",
                            (int)hash_dim, FEATURES_MAX_HASH_DIM);
    memset(fs, 0, sizeof(*fs));
    fs->seed = seed;
    fs->hash_dim = hash_dim;
    fs->dim = FEAT_BASE + 2 * hash_dim;
    return 0;
}

void features_free(FeatureSpace *fs)
{
    for (int32_t i = 0; i < fs->n_apps; i++) {
        free(fs->apps[i].name);
        free(fs->apps[i].instruction);
    }
    free(fs->apps);
    features__models_free(fs);
    free(fs->pooled.name);
    free(fs->pooled.instruction);
    fs->apps = NULL;
    fs->n_apps = 0;
    fs->pooled.name = NULL;
    fs->pooled.instruction = NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_sorted(const double *v, size_t n)
{
    if (!n) return 0;
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Statistics of the rows whose app is `name` (NULL: every row). */
static void app_stats(FeatureApp *a, const Dataset *d, const char *name)
{
    size_t n = 0;
    double *out = ss_malloc((d->n + 1) * sizeof(*out));
    double *ratio = ss_malloc((d->n + 1) * sizeof(*ratio));
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < d->n; i++) {
        const PredictSample *s = &d->rows[i];
        if (name && strcmp(s->in.app ? s->in.app : "", name)) continue;
        double x = s->in.input_tokens, y = s->output_tokens;
        out[n] = y;
        ratio[n] = y / SS_MAX(x, 1.0);
        sx += x; sy += y; sxx += x * x; sxy += x * y;
        n++;
        if (!a->instruction && s->in.instruction) a->instruction = ss_strdup(s->in.instruction);
    }
    qsort(out, n, sizeof(*out), cmp_double);
    qsort(ratio, n, sizeof(*ratio), cmp_double);
    a->n = (int64_t)n;
    a->median_out = median_sorted(out, n);
    a->mean_out = n ? sy / (double)n : 0;
    a->ratio = median_sorted(ratio, n);
    double var = n ? sxx - sx * sx / (double)n : 0;
    a->c1 = var > 1e-9 ? (sxy - sx * sy / (double)n) / var : 0;
    a->c0 = n ? (sy - a->c1 * sx) / (double)n : 0;
    free(out);
    free(ratio);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int features_fit(FeatureSpace *fs, const Dataset *train)
{
    if (!train->n) return ss_error_set(EINVAL, "features: empty training set");
    features_free(fs);
    const char **names = ss_malloc(train->n * sizeof(*names));
    size_t n_names = 0;
    for (size_t i = 0; i < train->n; i++)
        names[n_names++] = train->rows[i].in.app ? train->rows[i].in.app : "";
    qsort(names, n_names, sizeof(*names), cmp_str);
    fs->apps = ss_calloc(n_names, sizeof(*fs->apps));
    for (size_t i = 0; i < n_names; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue;
        FeatureApp *a = &fs->apps[fs->n_apps++];
        a->name = ss_strdup(names[i]);
        app_stats(a, train, a->name);
    }
    app_stats(&fs->pooled, train, NULL);
    free(fs->pooled.instruction);
    fs->pooled.instruction = NULL;
    fs->pooled.name = ss_strdup("*");
    free(names);
    return features__models_fit(fs, train);
}

/* The app of a request: by name, else by its instruction, else -1. */
int32_t features__app_index(const FeatureSpace *fs, const PredictInput *in)
{
    if (in->app && in->app[0]) {
        int32_t lo = 0, hi = fs->n_apps - 1;
        while (lo <= hi) {
            int32_t mid = lo + (hi - lo) / 2;
            int c = strcmp(fs->apps[mid].name, in->app);
            if (!c) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
    }
    if (in->instruction)
        for (int32_t i = 0; i < fs->n_apps; i++)
            if (fs->apps[i].instruction && !strcmp(fs->apps[i].instruction, in->instruction))
                return i;
    return -1;
}

/* Decode one UTF-8 code point at s (len bytes left); returns bytes used. */
static int utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (c >= 0x80 && c < 0xc0) n = 1;  /* stray continuation byte */
    if ((size_t)n > len) n = (int)len;
    uint32_t v = n == 1 ? c : c & (0x7fu >> n);
    for (int i = 1; i < n; i++) v = (v << 6) | (s[i] & 0x3fu);
    *cp = v;
    return n;
}

typedef struct TextCounts {
    double chars, words, lines, alpha, digit, latin_ext, cyrillic, cjk, other;
    double punct, nonspace, questions, code_lines, list_items;
} TextCounts;

static void count_chars(const char *text, size_t len, TextCounts *t)
{
    const unsigned char *s = (const unsigned char *)text;
    bool in_word = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += (size_t)utf8_next(s + i, len - i, &cp);
        t->chars++;
        bool space = cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r';
        if (!space) t->nonspace++;
        if (space && in_word) in_word = false;
        else if (!space && !in_word) { in_word = true; t->words++; }
        if (cp == '\n') t->lines++;
        if (cp == '?') t->questions++;
        if (cp < 0x80) {
            if (isalpha((int)cp)) t->alpha++;
            else if (isdigit((int)cp)) t->digit++;
            else if (strchr("{}[]();=<>", (int)cp) && cp) t->punct++;
        } else if (cp >= 0xc0 && cp <= 0x24f) t->latin_ext++;
        else if (cp >= 0x400 && cp <= 0x4ff) t->cyrillic++;
        else if ((cp >= 0x3040 && cp <= 0x30ff) || (cp >= 0x4e00 && cp <= 0x9fff) ||
                 (cp >= 0xac00 && cp <= 0xd7af)) t->cjk++;
        else t->other++;
    }
}

/* Line-level signals: code-shaped lines and list items. */
static void count_lines(const char *text, size_t len, TextCounts *t)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n') continue;
        size_t a = start, b = i;
        start = i + 1;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\r' || text[b - 1] == '\t')) b--;
        if (b == a) continue;
        char last = text[b - 1];
        if (text[a] == ' ' || text[a] == '\t' || last == ';' || last == '{' || last == '}' ||
            last == ':')
            t->code_lines++;
        size_t k = a;
        while (k < b && text[k] == ' ') k++;
        if (k < b && (text[k] == '-' || text[k] == '*') && k + 1 < b && text[k + 1] == ' ')
            t->list_items++;
        else if (k < b && isdigit((unsigned char)text[k])) {
            while (k < b && isdigit((unsigned char)text[k])) k++;
            if (k < b && (text[k] == '.' || text[k] == ')')) t->list_items++;
        }
    }
}

static bool word_in(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], w, n)) return true;
    return false;
}

static uint64_t hash_bytes(uint64_t seed, const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ ss_mix64(seed);
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return ss_mix64(h);
}

/* Add one n-gram's +-1 direction (the bits of its hash) to acc[dim]. */
static void project(double *acc, int32_t dim, uint64_t h)
{
    for (int32_t j = 0; j < dim; j++) acc[j] += (h >> j) & 1 ? 1.0 : -1.0;
}

/* Lower-cased copy of the first NGRAM_SCAN_MAX bytes, words split on
 * ASCII non-alphanumerics (bytes >= 0x80 count as letters). */
static void hash_ngrams(const FeatureSpace *fs, const char *text, size_t len, float *x,
                        double *long_ask, double *short_ask)
{
    size_t n = SS_MIN(len, (size_t)NGRAM_SCAN_MAX);
    char *low = ss_malloc(n + 1);
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)text[i]);
    double word_acc[FEATURES_MAX_HASH_DIM] = { 0 }, char_acc[FEATURES_MAX_HASH_DIM] = { 0 };
    double n_word = 0, n_char = 0;
    uint64_t prev = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && !(isalnum((unsigned char)low[i]) || (unsigned char)low[i] >= 0x80)) i++;
        size_t a = i;
        while (i < n && (isalnum((unsigned char)low[i]) || (unsigned char)low[i] >= 0x80)) i++;
        if (i == a) break;
        if (word_in(low + a, i - a, long_words, SS_ARRAY_LEN(long_words))) (*long_ask)++;
        if (word_in(low + a, i - a, short_words, SS_ARRAY_LEN(short_words))) (*short_ask)++;
        uint64_t h = hash_bytes(fs->seed, low + a, i - a);
        project(word_acc, fs->hash_dim, h);
        n_word++;
        if (prev) { project(word_acc, fs->hash_dim, ss_mix64(prev * 31 + h)); n_word++; }
        prev = h;
    }
    features__cues(low, n, x);
    for (size_t k = 0; k + 3 <= n; k++) {
        project(char_acc, fs->hash_dim, hash_bytes(fs->seed + 1, low + k, 3));
        n_char++;
    }
    for (int32_t j = 0; j < fs->hash_dim; j++) {
        x[FEAT_BASE + j] = (float)(n_word ? word_acc[j] / sqrt(n_word) : 0);
        x[FEAT_BASE + fs->hash_dim + j] = (float)(n_char ? char_acc[j] / sqrt(n_char) : 0);
    }
    free(low);
}

void features_compute(const FeatureSpace *fs, const PredictInput *in, float *x)
{
    int32_t app = features__app_index(fs, in);
    const FeatureApp *a = app >= 0 ? &fs->apps[app] : &fs->pooled;
    double input = SS_MAX(in->input_tokens, 0);
    const char *text = in->text ? in->text : "";
    size_t len = strlen(text);
    TextCounts t = { 0 };
    count_chars(text, len, &t);
    count_lines(text, len, &t);
    double long_ask = 0, short_ask = 0;
    memset(x, 0, (size_t)fs->dim * sizeof(*x));
    hash_ngrams(fs, text, len, x, &long_ask, &short_ask);
    double chars = SS_MAX(t.chars, 1.0), lines = t.lines + 1;
    x[FEAT_INPUT_TOKENS] = (float)input;
    x[FEAT_APP_ID] = (float)(app >= 0 ? app : fs->n_apps);
    x[FEAT_APP_MEDIAN_OUT] = (float)a->median_out;
    x[FEAT_APP_MEAN_OUT] = (float)a->mean_out;
    x[FEAT_APP_RATIO] = (float)a->ratio;
    x[FEAT_RATIO_ESTIMATE] = (float)(input * a->ratio);
    x[FEAT_APP_SLOPE_EST] = (float)(a->c0 + a->c1 * input);
    x[FEAT_INSTR_BYTES] = (float)(in->instruction ? strlen(in->instruction)
                                  : a->instruction ? strlen(a->instruction) : 0);
    x[FEAT_TEXT_BYTES] = (float)len;
    x[FEAT_TEXT_CHARS] = (float)t.chars;
    x[FEAT_TEXT_WORDS] = (float)t.words;
    x[FEAT_TEXT_LINES] = (float)lines;
    x[FEAT_MEAN_WORD_LEN] = (float)(t.words ? t.nonspace / t.words : 0);
    x[FEAT_CODE_PUNCT] = (float)(t.nonspace ? t.punct / t.nonspace : 0);
    x[FEAT_CODE_LINES] = (float)(t.code_lines / lines);
    x[FEAT_SHARE_ASCII_ALPHA] = (float)(t.alpha / chars);
    x[FEAT_SHARE_DIGIT] = (float)(t.digit / chars);
    x[FEAT_SHARE_LATIN_EXT] = (float)(t.latin_ext / chars);
    x[FEAT_SHARE_CYRILLIC] = (float)(t.cyrillic / chars);
    x[FEAT_SHARE_CJK] = (float)(t.cjk / chars);
    x[FEAT_SHARE_OTHER] = (float)(t.other / chars);
    x[FEAT_QUESTIONS] = (float)t.questions;
    x[FEAT_LONG_ASK] = (float)long_ask;
    x[FEAT_SHORT_ASK] = (float)short_ask;
    x[FEAT_LIST_ITEMS] = (float)t.list_items;
    const FeatureModel *m = app >= 0 ? features__model_find(fs, a->name, in->model) : NULL;
    double model_median = m ? m->median_out : a->median_out;
    x[FEAT_MODEL_MEDIAN_OUT] = (float)model_median;
    x[FEAT_MODEL_FACTOR] = (float)(a->median_out > 0 ? model_median / a->median_out : 1.0);
}

float *features_matrix(const FeatureSpace *fs, const Dataset *d)
{
    float *x = ss_malloc((d->n * (size_t)fs->dim + 1) * sizeof(*x));
    for (size_t i = 0; i < d->n; i++)
        features_compute(fs, &d->rows[i].in, x + i * (size_t)fs->dim);
    return x;
}

const char *features_name(const FeatureSpace *fs, int32_t i, char *buf, size_t cap)
{
    if (i >= 0 && i < FEAT_BASE) snprintf(buf, cap, "%s", feature_names[i]);
    else if (i < FEAT_BASE + fs->hash_dim) snprintf(buf, cap, "word_h%d", (int)(i - FEAT_BASE));
    else snprintf(buf, cap, "char_h%d", (int)(i - FEAT_BASE - fs->hash_dim));
    return buf;
}

/* Model files keep one record per line with space-separated fields, so
 * names and instructions are written with \s \t \n \\ escapes and "-" for
 * none. */
void features__write_escaped(FILE *f, const char *s)
{
    if (!s) { fputc('-', f); return; }
    if (!*s) { fputs("\\0", f); return; }
    for (; *s; s++) {
        switch (*s) {
        case ' ': fputs("\\s", f); break;
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\\': fputs("\\\\", f); break;
        default: fputc(*s, f);
        }
    }
}

/* In-place inverse of write_escaped; returns NULL for "-". */
char *features__unescape(char *s)
{
    if (!strcmp(s, "-")) return NULL;
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r != '\\' || !r[1]) { *w++ = *r; continue; }
        r++;
        *w++ = *r == 's' ? ' ' : *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r'
             : *r == '0' ? '\0' : *r;
        if (*r == '0') break;
    }
    *w = '\0';
    return s;
}

static void app_save(FILE *f, const char *tag, const FeatureApp *a)
{
    fprintf(f, "%s %lld %.17g %.17g %.17g %.17g %.17g ", tag, (long long)a->n, a->median_out,
            a->mean_out, a->ratio, a->c0, a->c1);
    features__write_escaped(f, a->name);
    fputc(' ', f);
    features__write_escaped(f, a->instruction);
    fputc('\n', f);
}

int features_save(const FeatureSpace *fs, FILE *f)
{
    fprintf(f, "features %d %llu %d %d\n", FEATURES_FORMAT_VERSION,
            (unsigned long long)fs->seed, (int)fs->hash_dim, (int)fs->n_apps);
    for (int32_t i = 0; i < fs->n_apps; i++) app_save(f, "app", &fs->apps[i]);
    app_save(f, "pooled", &fs->pooled);
    return ferror(f) ? ss_error_set(EIO, "features: write error") : features__models_save(fs, f);
}

static int app_load(FeatureApp *a, char *line, const char *tag, const char *path, int lineno)
{
    char *save = NULL, *tok[9];
    int n = 0;
    for (char *t = strtok_r(line, " \n", &save); t && n < 9; t = strtok_r(NULL, " \n", &save))
        tok[n++] = t;
    double v[6];
    bool ok = n == 9 && !strcmp(tok[0], tag);
    for (int i = 0; ok && i < 6; i++) ok = !ss_parse_double(tok[1 + i], &v[i]);
    if (!ok) return ss_error_set(EINVAL, "%s:%d: bad '%s' record", path, lineno, tag);
    a->n = (int64_t)v[0];
    a->median_out = v[1]; a->mean_out = v[2]; a->ratio = v[3]; a->c0 = v[4]; a->c1 = v[5];
    char *name = features__unescape(tok[7]), *instr = features__unescape(tok[8]);
    a->name = ss_strdup(name ? name : "");
    a->instruction = instr ? ss_strdup(instr) : NULL;
    return 0;
}

int features_load(FeatureSpace *fs, FILE *f, const char *path, int *lineno)
{
    char *line = NULL;
    size_t cap = 0;
    int version = 0, hash_dim = 0, n_apps = 0, r = 0;
    unsigned long long seed = 0;
    (*lineno)++;
    if (getline(&line, &cap, f) < 0 ||
        sscanf(line, "features %d %llu %d %d", &version, &seed, &hash_dim, &n_apps) != 4 ||
        version != FEATURES_FORMAT_VERSION || n_apps < 0 || n_apps > 1000000) {
        r = ss_error_set(EINVAL, "%s:%d: expected 'features %d <seed> <hash_dim> <n_apps>'",
                         path, *lineno, FEATURES_FORMAT_VERSION);
        goto done;
    }
    if ((r = features_init(fs, seed, hash_dim))) goto done;
    fs->apps = ss_calloc((size_t)n_apps + 1, sizeof(*fs->apps));
    for (int i = 0; i <= n_apps; i++) {
        (*lineno)++;
        bool pooled = i == n_apps;
        if (getline(&line, &cap, f) < 0) {
            r = ss_error_set(EINVAL, "%s:%d: file ends inside the app table", path, *lineno);
            goto done;
        }
        FeatureApp *a = pooled ? &fs->pooled : &fs->apps[i];
        if ((r = app_load(a, line, pooled ? "pooled" : "app", path, *lineno))) goto done;
        if (!pooled) fs->n_apps++;
    }
    r = features__models_load(fs, f, path, lineno);
done:
    free(line);
    if (r) features_free(fs);
    return r;
}
