/* features_cues.c: what the user's text says about the answer's length.
 *
 * Chat prompts often say how long an answer they want: a count of things
 * ("list 10 ideas", "give me 3 examples"), a size ("in 200 words", "two
 * paragraphs", "one sentence"), a genre (an essay, a story, a letter run
 * long; code runs long and tokenises long), or brevity ("briefly", "only
 * the answer", "yes or no").  A question that opens with "what is" tends to
 * get a shorter answer than a task.  The cues are counted over the words of
 * the lower-cased text (ASCII letters and digits; bytes >= 0x80 count as
 * letters), so they cost one pass and need no model.
 *
 * Numbers: digits, or the English number words one..twenty, thirty, forty,
 * fifty, hundred.  A number followed within two words by a count noun sets
 * ask_count (the largest such N); by a size noun it sets ask_length_words:
 * N words, N x 20 for sentences, N x 100 for paragraphs, N x 400 for pages
 * (rough words per unit; trees only need the order). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "predict/features.h"

#define CUE_WORDS_MAX 2048  /* words scanned: bounds cost on long prompts */

static const char *const number_words[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
};
static const char *const count_nouns[] = {
    "items", "examples", "example", "ideas", "ways", "tips", "questions", "names", "points",
    "reasons", "steps", "options", "titles", "facts", "jokes", "things", "suggestions",
    "bullet", "bullets", "lines", "slogans", "taglines", "tweets", "headlines", "keywords",
    "characters", "words", "sentences", "paragraphs", "methods", "strategies", "benefits",
    "tools", "books", "movies", "songs", "places", "recipes", "exercises", "topics",
    "alternatives", "features", "scenarios", "quotes", "variations", "versions", "rules",
};
static const char *const essay_words[] = {
    "essay", "article", "story", "blog", "poem", "report", "letter", "guide", "tutorial",
    "outline", "proposal", "speech", "chapter", "narrative", "lyrics", "song", "email",
    "script", "screenplay", "dialogue", "novel", "summary", "review", "description", "post",
};
static const char *const explain_words[] = {
    "explain", "describe", "discuss", "compare", "elaborate", "analyze", "analyse", "why",
    "how", "detailed", "detail", "comprehensive", "thorough", "depth", "overview",
    "pros", "cons", "difference", "differences", "advantages", "evaluate",
};
static const char *const code_words[] = {
    "code", "function", "program", "script", "implement", "implementation", "class",
    "python", "javascript", "typescript", "java", "sql", "rust", "cpp", "bash", "html",
    "css", "api", "algorithm", "regex", "query", "react", "golang", "kotlin", "swift",
    "method", "module", "library", "compile", "snippet",
};
static const char *const brief_words[] = {
    "brief", "briefly", "short", "concise", "concisely", "only", "just", "single", "yes",
    "summarize", "summarise", "tldr", "simply", "quick", "quickly", "exactly", "shortest",
};
static const char *const question_openers[] = {
    "what", "whats", "who", "when", "where", "which", "is", "are", "can", "could", "do",
    "does", "did", "how", "why", "should", "would", "will", "was", "were",
};

static bool in_list(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], w, n)) return true;
    return false;
}

#define IN(w, n, list) in_list(w, n, list, SS_ARRAY_LEN(list))

/* The number a word spells (digits or a number word), or -1. */
static double word_number(const char *w, size_t n)
{
    if (n <= 6 && isdigit((unsigned char)w[0])) {
        double v = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)w[i])) return -1;
            v = v * 10 + (w[i] - '0');
        }
        return v;
    }
    for (size_t i = 0; i < SS_ARRAY_LEN(number_words); i++)
        if (strlen(number_words[i]) == n && !memcmp(number_words[i], w, n)) return (double)i;
    if (n == 6 && !memcmp(w, "thirty", 6)) return 30;
    if (n == 5 && !memcmp(w, "forty", 5)) return 40;
    if (n == 5 && !memcmp(w, "fifty", 5)) return 50;
    if (n == 7 && !memcmp(w, "hundred", 7)) return 100;
    return -1;
}

/* Words per unit of a size noun, or 0 when w is not one. */
static double size_unit_words(const char *w, size_t n)
{
    if ((n == 4 && !memcmp(w, "word", 4)) || (n == 5 && !memcmp(w, "words", 5))) return 1;
    if (n >= 8 && !memcmp(w, "sentence", 8)) return 20;
    if (n >= 9 && !memcmp(w, "paragraph", 9)) return 100;
    if (n >= 4 && !memcmp(w, "page", 4) && n <= 5) return 400;
    return 0;
}

typedef struct Word { const char *s; size_t n; } Word;

void features__cues(const char *low, size_t n, float *x)
{
    Word *w = ss_malloc(CUE_WORDS_MAX * sizeof(*w));
    size_t nw = 0;
    for (size_t i = 0; i < n && nw < CUE_WORDS_MAX;) {
        while (i < n && !(isalnum((unsigned char)low[i]) || (unsigned char)low[i] >= 0x80)) i++;
        size_t a = i;
        while (i < n && (isalnum((unsigned char)low[i]) || (unsigned char)low[i] >= 0x80)) i++;
        if (i > a) w[nw++] = (Word){ low + a, i - a };
    }
    double count = 0, length_words = 0, essay = 0, explain = 0, code = 0, brief = 0, steps = 0;
    for (size_t k = 0; k < nw; k++) {
        const char *s = w[k].s;
        size_t len = w[k].n;
        double num = word_number(s, len);
        /* "one" alone is usually not a count ("which one"): only with a noun. */
        for (size_t j = k + 1; num > 0 && j <= k + 2 && j < nw; j++) {
            double unit = size_unit_words(w[j].s, w[j].n);
            if (unit > 0) { length_words = SS_MAX(length_words, num * unit); break; }
            if (IN(w[j].s, w[j].n, count_nouns)) { count = SS_MAX(count, num); break; }
        }
        essay += IN(s, len, essay_words);
        explain += IN(s, len, explain_words);
        code += IN(s, len, code_words);
        brief += IN(s, len, brief_words);
        steps += (len == 4 || len == 5) && !memcmp(s, "step", 4);
    }
    x[FEAT_ASK_COUNT] = (float)count;
    x[FEAT_ASK_LENGTH_WORDS] = (float)length_words;
    x[FEAT_ASK_ESSAY] = (float)essay;
    x[FEAT_ASK_EXPLAIN] = (float)explain;
    x[FEAT_ASK_CODE] = (float)code;
    x[FEAT_ASK_BRIEF] = (float)brief;
    x[FEAT_STARTS_QUESTION] = nw && IN(w[0].s, w[0].n, question_openers) ? 1.0f : 0.0f;
    x[FEAT_ASK_STEPS] = (float)steps;
    free(w);
}
