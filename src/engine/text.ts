// Text side of a bundle: tokenizer.json through @huggingface/tokenizers and the chat template through
// @huggingface/jinja, both read from the bundle (never hard-coded per model).
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import type { TokenizerConfig } from "./bundle";

/** One chat message as HF processors take it: content is a string or a list of image/video/text parts. */
export interface ChatMessage {
  role: string;
  content: string | ({ type: "image" } | { type: "video" } | { type: "text"; text: string })[];
}

function tokenString(t: string | { content: string } | undefined): string | undefined {
  return typeof t === "string" ? t : t?.content;
}

export class TextCodec {
  private readonly tokenizer: Tokenizer;
  private readonly template?: Template;
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly eosTokenId?: number;

  constructor(tokenizerJson: Record<string, unknown>, config: TokenizerConfig, extraTemplate?: string) {
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, config);
    } catch (e) {
      throw new Error(`tokenizer.json could not be loaded (${(e as Error).message}); re-export the bundle`);
    }
    this.bosToken = tokenString(config.bos_token);
    this.eosToken = tokenString(config.eos_token);
    this.eosTokenId = this.eosToken !== undefined ? this.tokenizer.token_to_id(this.eosToken) : undefined;
    let tpl = config.chat_template ?? extraTemplate;
    if (Array.isArray(tpl)) tpl = (tpl.find((t) => t.name === "default") ?? tpl[0])?.template;
    if (typeof tpl === "string") {
      try {
        this.template = new Template(tpl);
      } catch (e) {
        throw new Error(`the bundle's chat template does not parse (${(e as Error).message})`);
      }
    }
  }

  get hasChatTemplate(): boolean {
    return this.template !== undefined;
  }

  applyChatTemplate(messages: ChatMessage[], addGenerationPrompt = true): string {
    if (!this.template)
      throw new Error("this bundle has no chat template (tokenizer_config.json chat_template); pass chat: false and a raw prompt");
    return this.template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.bosToken ?? "",
      eos_token: this.eosToken ?? "",
    });
  }

  /** Token ids of `text`; special tokens (BOS) are added unless the text already starts with the BOS string. */
  encode(text: string, addSpecialTokens?: boolean): number[] {
    const add = addSpecialTokens ?? !(this.bosToken && text.startsWith(this.bosToken));
    return this.tokenizer.encode(text, { add_special_tokens: add }).ids;
  }

  idToToken(id: number): string {
    return this.tokenizer.id_to_token(id) ?? `<id ${id}>`;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    if (ids.length === 0) return ""; // the tokenizer rejects an empty list (e.g. generation that stops at once)
    return this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens });
  }

  /**
   * Sub-tokens of " " + word without special tokens, leading whitespace-only pieces (a lone "▁" or "Ġ") dropped:
   * the paper's convention for object words and answer words.
   */
  wordTokens(word: string): { ids: number[]; tokens: string[] } {
    const enc = this.tokenizer.encode(" " + word.trim(), { add_special_tokens: false });
    let k = 0;
    while (k < enc.tokens.length - 1 && /^[\s▁Ġ]*$/u.test(enc.tokens[k])) k++;
    return { ids: enc.ids.slice(k), tokens: enc.tokens.slice(k) };
  }
}
