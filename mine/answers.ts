/*
 * DPR's has_answer convention: a passage "has the answer" when the token
 * sequence of one of the question's answers occurs in its tokens, uncased
 * (DPR's SimpleTokenizer: runs of letters, digits and marks, or single
 * non-space characters). Mining treats such passages as positives: in DPR
 * data most relevant passages are unjudged, and a negative that contains
 * the answer would teach the model to push the right passage away.
 */

const TOKEN = /[\p{L}\p{N}\p{M}]+|[^\p{Z}\p{C}\s]/gu;

export function dprTokens(text: string): string[] {
  return (text.normalize('NFD').toLowerCase().match(TOKEN) ?? []) as string[];
}

export function hasAnswer(passage: string, answers: readonly string[]): boolean {
  if (answers.length === 0) return false;
  const tokens = dprTokens(passage);
  for (const answer of answers) {
    const a = dprTokens(answer);
    if (a.length === 0) continue;
    outer: for (let i = 0; i + a.length <= tokens.length; i++) {
      for (let j = 0; j < a.length; j++) if (tokens[i + j] !== a[j]) continue outer;
      return true;
    }
  }
  return false;
}
