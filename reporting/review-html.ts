/**
 * The review page: one self-contained HTML file (inline CSS and script, no external assets)
 * that a person reads and judges in a few minutes. User turns sit beside their state table
 * (new, changed and removed slots coloured) and the checks' corrections; system turns are
 * plain lines. The form's answers are kept in the browser's local storage as they are given
 * and leave as `verdicts.json` (the same file `verdictTemplate` writes) with one button.
 */
import {
  correctionCount,
  strayCorrections,
  turnViews,
  userTurnCount,
  verdictTemplate,
  SLOT_CHANGE,
  type ReviewCorrection,
  type ReviewDialogue,
  type ReviewSet,
  type SlotRow,
  type SystemTurnView,
  type UserTurnView,
} from './review';

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const CSS = `
:root{--ink:#1f2328;--mute:#5b636d;--line:#d8dee4;--soft:#eef1f4;--add:#dafbe1;--chg:#fff4c7;--rm:#ffebe9;--accent:#0b5cad}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);background:#f6f8fa}
.bar{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);padding:.55em 1.5em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}
.bar b{font-size:1.05em}.bar .grow{flex:1}
#progress{color:var(--mute);font-variant-numeric:tabular-nums}
button,.load{font:inherit;font-size:.9em;border:1px solid var(--line);background:#f6f8fa;border-radius:6px;padding:.3em .8em;cursor:pointer}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
.load input{display:none}
main{max-width:1120px;margin:0 auto;padding:.5em 1.5em 4em}
.intro{color:var(--mute);max-width:75ch}.intro li{margin:.15em 0}
.key span{padding:0 .35em;border-radius:3px}
section.dlg{background:#fff;border:1px solid var(--line);border-radius:8px;margin:1.4em 0;padding:0 1.2em .9em}
section.dlg h2{font-size:1.1em;margin:.8em 0 .1em}
.meta{color:var(--mute);font-size:.9em;margin-bottom:.4em}
.turn{padding:.55em 0;border-top:1px solid var(--soft)}
.turn.user{display:grid;grid-template-columns:minmax(0,5fr) minmax(0,6fr);gap:1.2em}
.turn.sys{color:var(--mute)}
.utt{margin:0;display:flex;gap:.5em;align-items:baseline}
.who{flex:0 0 5.6em;font-weight:600;font-size:.75em;text-transform:uppercase;letter-spacing:.05em;color:var(--mute)}
.user .who{color:var(--accent)}
.act{font-size:.8em;border:1px solid var(--line);border-radius:10px;padding:0 .5em;margin-left:.4em;white-space:nowrap}
table.state{border-collapse:collapse;width:100%;font-size:.87em}
table.state td{padding:1px 6px;border-bottom:1px solid var(--soft);vertical-align:top}
table.state td.slot{width:38%;color:var(--mute);font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.95em}
table.state td.tag{width:22%;color:var(--mute);font-size:.9em}
tr.added td{background:var(--add)}tr.changed td{background:var(--chg)}
tr.removed td{background:var(--rm)}tr.removed td.val{text-decoration:line-through}
tr.added td.val,tr.changed td.val{font-weight:600}
.same{color:var(--mute);font-size:.85em;margin-top:.2em}.same b{font-weight:600}
.empty{color:var(--mute);font-size:.87em;font-style:italic}
ul.fix{margin:.35em 0 0;padding:0;list-style:none;font-size:.85em}
ul.fix li{margin:.1em 0;padding-left:.6em;border-left:3px solid #d4a72c}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em;background:var(--soft);padding:0 .25em;border-radius:3px}
.verdict{margin-top:.4em;font-size:.88em;display:flex;gap:.7em;align-items:center;flex-wrap:wrap}
.verdict label{cursor:pointer}
.verdict input.tnote{flex:1;min-width:10em;font:inherit;border:1px solid var(--line);border-radius:4px;padding:1px 6px}
.dfoot{border-top:2px solid var(--soft);margin-top:.3em;padding-top:.7em;display:flex;gap:1.4em;align-items:center;flex-wrap:wrap;font-size:.92em}
.dfoot input.swaps{width:4.5em;font:inherit;padding:1px 4px}
.dfoot textarea{flex:1;min-width:16em;font:inherit;font-size:.95em;min-height:2.2em;border:1px solid var(--line);border-radius:4px;padding:2px 6px}
`;

function slotRowHtml(r: SlotRow): string {
  const tag =
    r.change === SLOT_CHANGE.ADDED
      ? 'new'
      : r.change === SLOT_CHANGE.CHANGED
        ? `was ${esc(r.previous ?? '')}`
        : r.change === SLOT_CHANGE.REMOVED
          ? 'removed'
          : '';
  return `<tr class="${r.change}"><td class="slot">${esc(r.slot)}</td><td class="val">${esc(r.value)}</td><td class="tag">${tag}</td></tr>`;
}

function correctionHtml(c: ReviewCorrection, withTurn = false): string {
  const where = withTurn ? ` (user turn ${c.turn})` : '';
  return `<li>corrected${where}: <code>${esc(c.reason)}</code>${c.slot ? ` ${esc(c.slot)}` : ''} — ${esc(c.detail)}</li>`;
}

/**
 * The changed slots as table rows, the unchanged ones on one muted line: the whole state stays
 * on the page, and the eye goes to what this turn did.
 */
function stateHtml(rows: readonly SlotRow[]): string {
  if (!rows.length) return '<div class="empty">state: empty</div>';
  const changed = rows.filter((r) => r.change !== SLOT_CHANGE.SAME);
  const same = rows.filter((r) => r.change === SLOT_CHANGE.SAME);
  const table = changed.length
    ? `<table class="state">${changed.map(slotRowHtml).join('')}</table>`
    : '<div class="empty">no change</div>';
  const rest = same.length
    ? `<div class="same"><b>unchanged:</b> ${same.map((r) => `${esc(r.slot)}=${esc(r.value)}`).join(' · ')}</div>`
    : '';
  return table + rest;
}

function userTurnHtml(t: UserTurnView, i: number): string {
  const state = stateHtml(t.rows);
  const fixes = t.corrections.length
    ? `<ul class="fix">${t.corrections.map((c) => correctionHtml(c)).join('')}</ul>`
    : '';
  const name = `d${i}t${t.turn}`;
  const verdict =
    `<div class="verdict">turn ${t.turn}: labels <label><input type="radio" name="${name}" value="right"> right</label>` +
    `<label><input type="radio" name="${name}" value="wrong"> wrong</label>` +
    `<input class="tnote" data-turn="${t.turn}" placeholder="what is wrong (optional)"></div>`;
  return (
    `<div class="turn user" data-turn="${t.turn}"><p class="utt"><span class="who">User ${t.turn + 1}</span><span>${esc(t.utterance)}</span></p>` +
    `<div>${state}${fixes}${verdict}</div></div>`
  );
}

function systemTurnHtml(t: SystemTurnView): string {
  const act = [t.action, t.entity].filter((x): x is string => !!x).map(esc);
  return `<div class="turn sys"><p class="utt"><span class="who">Agent</span><span>${esc(t.utterance)}${act.length ? `<span class="act">${act.join(' · ')}</span>` : ''}</span></p></div>`;
}

function dialogueHtml(d: ReviewDialogue, i: number): string {
  const stray = strayCorrections(d);
  const meta = `${esc(d.services.join(', ') || 'no domain')} · ${userTurnCount(d)} user turns · ${esc(correctionCount(d))}`;
  const turns = turnViews(d)
    .map((t) => (t.speaker === 'USER' ? userTurnHtml(t, i) : systemTurnHtml(t)))
    .join('\n');
  const foot =
    `<div class="dfoot"><label>role swaps <input class="swaps" type="number" min="0" step="1" placeholder="–"></label>` +
    `<span>accept <label><input type="radio" name="d${i}a" value="yes"> yes</label> <label><input type="radio" name="d${i}a" value="no"> no</label></span>` +
    `<textarea placeholder="note: role problems, anything else"></textarea></div>`;
  return (
    `<section class="dlg" data-i="${i}" id="${esc(d.id)}"><h2>${i + 1}. ${esc(d.id)}</h2><div class="meta">${meta}</div>` +
    (stray.length ? `<ul class="fix">${stray.map((c) => correctionHtml(c, true)).join('')}</ul>` : '') +
    `${turns}\n${foot}</section>`
  );
}

/*
 * The form's script. Plain ES2017, no modules, so it runs from file:// in any browser. It
 * clones the embedded template, fills it from the form, and keeps it in local storage (a
 * reload or a closed tab loses nothing); "Load" puts a downloaded file back into the form.
 */
const SCRIPT = `(function(){
var T=JSON.parse(document.getElementById('verdict-template').textContent);
var KEY='dst-review:'+T.source+':'+T.seed;
function q(s,r){return (r||document).querySelector(s)}
function sec(i){return q('section[data-i="'+i+'"]')}
function collect(){
  var v=JSON.parse(JSON.stringify(T));
  v.dialogues.forEach(function(d,i){
    var s=sec(i);
    d.turns.forEach(function(t){
      var r=q('input[name="d'+i+'t'+t.turn+'"]:checked',s);t.label=r?r.value:null;
      var n=q('input.tnote[data-turn="'+t.turn+'"]',s).value.trim();if(n)t.note=n;
    });
    var w=q('input.swaps',s).value.trim();d.role_swaps=w===''?null:Math.max(0,parseInt(w,10)||0);
    var a=q('input[name="d'+i+'a"]:checked',s);d.accept=a?a.value==='yes':null;
    d.note=q('textarea',s).value.trim();
  });
  return v;
}
function apply(v){
  var by={};(v.dialogues||[]).forEach(function(d){by[d.dialogue_id]=d});
  T.dialogues.forEach(function(t,i){
    var d=by[t.dialogue_id],s=sec(i);if(!d||d.user_turns!==t.user_turns)return;
    (d.turns||[]).forEach(function(u){
      var r=q('input[name="d'+i+'t'+u.turn+'"][value="'+u.label+'"]',s);if(r)r.checked=true;
      var n=q('input.tnote[data-turn="'+u.turn+'"]',s);if(n&&u.note)n.value=u.note;
    });
    if(d.role_swaps!==null&&d.role_swaps!==undefined)q('input.swaps',s).value=d.role_swaps;
    if(d.accept!==null&&d.accept!==undefined)q('input[name="d'+i+'a"][value="'+(d.accept?'yes':'no')+'"]',s).checked=true;
    if(d.note)q('textarea',s).value=d.note;
  });
}
function progress(v){
  var turns=0,judged=0,dlg=0;
  v.dialogues.forEach(function(d){turns+=d.turns.length;d.turns.forEach(function(t){if(t.label)judged++});if(d.accept!==null)dlg++});
  q('#progress').textContent=judged+'/'+turns+' turns judged · '+dlg+'/'+v.dialogues.length+' dialogues decided';
}
function save(){var v=collect();try{localStorage.setItem(KEY,JSON.stringify(v))}catch(e){}progress(v)}
try{var kept=localStorage.getItem(KEY);if(kept)apply(JSON.parse(kept))}catch(e){}
progress(collect());
document.addEventListener('input',save);document.addEventListener('change',function(e){if(e.target.id!=='load')save()});
q('#download').addEventListener('click',function(){
  var blob=new Blob([JSON.stringify(collect(),null,2)+'\\n'],{type:'application/json'});
  var a=document.createElement('a');a.href=URL.createObjectURL(blob);a.download='verdicts.json';
  document.body.appendChild(a);a.click();a.remove();
});
q('#load').addEventListener('change',function(e){
  var f=e.target.files[0];if(!f)return;var rd=new FileReader();
  rd.onload=function(){try{apply(JSON.parse(rd.result));save()}catch(err){alert('not a verdict file: '+err)}};
  rd.readAsText(f);
});
})();`;

/** JSON inside a script element: "<" escaped so no utterance can close the element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

const INTRO = `<ul class="intro">
<li>Read each dialogue. For every <b>user turn</b>, check the state table beside it: it must hold exactly what the user has asked for so far. Mark <b>right</b> or <b>wrong</b> (say what is wrong in the box).</li>
<li class="key">Since the previous user turn: <span style="background:var(--add)">new slot</span> <span style="background:var(--chg)">changed value</span> <span style="background:var(--rm)">removed slot</span>. Lines marked <i>corrected</i> are the checks' fixes to the labeller's state.</li>
<li>Under each dialogue: <b>role swaps</b> (turns where a speaker talks as the other role — the agent asking the user for a recommendation, the user offering help; 0 when none), <b>accept</b> (good training data?), and a note.</li>
<li>Your answers stay in this browser. <b>Download verdicts.json</b>, then score it: <code>npx dst-synth review --verdicts verdicts.json</code>. The file can also be filled by hand: <code>verdicts.json</code> is written beside this page.</li>
</ul>`;

/** The review page for `set`, with its verdict template embedded for the form. */
export function reviewHtml(set: ReviewSet): string {
  const title = `Review: ${set.dialogues.length} of ${set.total} accepted dialogues`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style></head>
<body>
<div class="bar"><b>${esc(title)}</b><span id="progress"></span><span class="grow"></span>
<label class="load">Load verdicts…<input type="file" id="load" accept=".json,application/json"></label>
<button class="primary" id="download">Download verdicts.json</button></div>
<main>
<p class="meta">Source <code>${esc(set.source)}</code> · seed ${set.seed}</p>
${INTRO}
<noscript><p><b>Scripts are off:</b> the form cannot save; fill <code>verdicts.json</code> beside this page instead.</p></noscript>
${set.dialogues.map(dialogueHtml).join('\n')}
</main>
<script type="application/json" id="verdict-template">${scriptJson(verdictTemplate(set))}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
