# ruff: noqa: E501  (the page below is HTML and JavaScript)
"""``/ehr-demo``: a mock EHR page that calls the CDS Hooks services as a browser EHR would.

Pick a sample patient (examples/cds), edit the draft medication order, sign it: the
page sends a real ``order-sign`` request to ``/cds-services/neurodose-order-sign``
with the sample's prefetch, shows the cards (indicator, summary, detail, source,
suggestions, override reasons), applies an accepted suggestion to the draft (the
card's ``update``/``create`` actions) and sends feedback.

Auth rule: the page and its sample list exist only in ``--dev-insecure`` mode (the
browser cannot sign CDS Hooks JWTs); otherwise they answer 404.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response

from neurodose.service.cds.config import CdsConfig
from neurodose.service.cds.hooks import service_for

__all__ = ["SAMPLES_DIR", "demo_router"]

#: the sample patients in a source checkout
SAMPLES_DIR = Path(__file__).resolve().parents[4] / "examples" / "cds"


def _samples() -> list[dict[str, Any]]:
    from neurodose.service.cds.samples import load_samples, prefetch_for

    if not SAMPLES_DIR.is_dir():
        return []
    out = []
    for s in load_samples(SAMPLES_DIR, dt.date.today()):
        out.append(
            {
                "name": s.name,
                "patientId": s.patient_id,
                "prefetch": prefetch_for(s),
                "order": s.order,
            }
        )
    return out


def demo_router(config: CdsConfig) -> APIRouter:
    """The ``/ehr-demo`` page and ``/ehr-demo/samples`` (dev-insecure mode only)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ehr-demo")
    def ehr_demo() -> Response:
        if not config.dev_insecure:
            return Response(status_code=404)
        return HTMLResponse(PAGE)

    @router.get("/ehr-demo/samples")
    def ehr_demo_samples() -> Response:
        if not config.dev_insecure:
            return Response(status_code=404)
        return JSONResponse(_samples())

    return router


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>neurodose: mock EHR (CDS Hooks demo)</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2733}
header{background:#23395d;color:#fff;padding:.6rem 1rem;font-weight:600}
main{display:grid;grid-template-columns:minmax(18rem,26rem) 1fr;gap:1rem;padding:1rem}
section{background:#fff;border:1px solid #d5dbe3;border-radius:6px;padding:.8rem}
label{display:block;margin:.4rem 0 .1rem;font-size:.9rem}
input,select{width:100%;padding:.3rem;box-sizing:border-box}
button{margin-top:.6rem;padding:.4rem .8rem;cursor:pointer}
.card{border-left:6px solid #888;background:#fff;margin:.6rem 0;padding:.5rem .8rem;border-radius:4px;
 box-shadow:0 1px 2px rgba(0,0,0,.1)}
.card.critical{border-color:#b00020}.card.warning{border-color:#d98e04}.card.info{border-color:#2f6fb3}
.ind{font-size:.75rem;text-transform:uppercase;font-weight:700}
.card.critical .ind{color:#b00020}.card.warning .ind{color:#a86d00}.card.info .ind{color:#2f6fb3}
pre{white-space:pre-wrap;font-size:.8rem;background:#f7f7f9;padding:.4rem;max-height:14rem;overflow:auto}
.src{font-size:.8rem;color:#555}.note{font-size:.8rem;color:#555}
ul{margin:.2rem 0;padding-left:1.2rem}
</style></head>
<body><header>neurodose mock EHR: draft a medication order and sign it (CDS Hooks order-sign)</header>
<main>
<section>
<label for="sample">Sample patient</label><select id="sample"></select>
<div id="chart" class="note"></div>
<h3>Draft order</h3>
<label for="drug">Medication (name or RxNorm display)</label><input id="drug">
<label for="dose">Dose per administration (mg)</label><input id="dose" type="number" step="any">
<label for="freq">Times per day</label><input id="freq" type="number" min="1" max="6">
<button id="sign">Sign order</button>
<p class="note">Demo mode: requests are sent without a signed JWT (--dev-insecure).
Decision support, not a substitute for clinical judgement.</p>
</section>
<section><h3>Cards</h3><div id="status" class="note">Pick a patient and sign the order.</div>
<div id="cards"></div></section>
</main>
<script>
let samples=[],current=null,draft=null;
const $=id=>document.getElementById(id);
function uuid(){return crypto.randomUUID?crypto.randomUUID():String(Date.now())+Math.random();}
function esc(t){const d=document.createElement('div');d.textContent=t==null?'':String(t);return d.innerHTML;}
function medName(r){const c=r.medicationCodeableConcept||{};return c.text||((c.coding||[])[0]||{}).display||'';}
function fillForm(){
  $('drug').value=medName(draft);
  const di=(draft.dosageInstruction||[{}])[0]||{};
  const q=((di.doseAndRate||[{}])[0]||{}).doseQuantity||{};
  $('dose').value=q.value==null?'':q.value;
  const rep=((di.timing||{}).repeat)||{};$('freq').value=rep.frequency||1;
}
function chart(){
  const p=current.prefetch,lines=[];
  const pat=p.patient;lines.push('Patient '+esc(pat.id)+', born '+esc(pat.birthDate)+', '+esc(pat.gender||''));
  const list=(b)=>b?(b.entry||[]).map(e=>e.resource):[];
  const meds=list(p.medications).concat(list(p.recentMedications));
  if(meds.length)lines.push('Medicines: '+meds.map(m=>esc(medName(m))+' ('+esc(m.status)+')').join(', '));
  const conds=list(p.conditions).map(c=>esc(((c.code||{}).coding||[{}])[0].display||''));
  if(conds.length)lines.push('Conditions: '+conds.join(', '));
  const obs=list(p.observations).map(o=>esc(((o.code||{}).coding||[{}])[0].code)+': '+esc(o.valueQuantity?o.valueQuantity.value+' '+o.valueQuantity.unit:(o.valueCodeableConcept||{}).text));
  if(obs.length)lines.push('Observations: '+obs.join('; '));
  $('chart').innerHTML=lines.map(l=>'<div>'+l+'</div>').join('');
}
function pick(){current=samples[$('sample').selectedIndex];draft=JSON.parse(JSON.stringify(current.order));fillForm();chart();$('cards').innerHTML='';}
function formToDraft(){
  const name=$('drug').value.trim();
  if(name!==medName(draft))draft.medicationCodeableConcept={text:name};
  const dose=parseFloat($('dose').value),freq=parseInt($('freq').value||'1');
  draft.dosageInstruction=[{timing:{repeat:{frequency:freq,period:1,periodUnit:'d'}},
    doseAndRate:isNaN(dose)?[]:[{doseQuantity:{value:dose,unit:'mg',system:'http://unitsofmeasure.org',code:'mg'}}]}];
}
async function sign(){
  formToDraft();
  const body={hook:'order-sign',hookInstance:uuid(),
    context:{userId:'Practitioner/demo',patientId:current.patientId,
      draftOrders:{resourceType:'Bundle',type:'collection',entry:[{resource:draft}]}},
    prefetch:current.prefetch};
  $('status').textContent='Calling __ORDER_SIGN__...';
  const r=await fetch('/cds-services/__ORDER_SIGN__',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(body)});
  const data=await r.json().catch(()=>({}));
  if(!r.ok){$('status').textContent='HTTP '+r.status+': '+(data.error||'');$('cards').innerHTML='';return;}
  $('status').textContent=data.cards.length+' card(s) for '+medName(draft);
  render(data.cards);
}
async function feedback(card,outcome,extra){
  const item=Object.assign({card:card.uuid,outcome:outcome,outcomeTimestamp:new Date().toISOString()},extra);
  await fetch('/cds-services/__ORDER_SIGN__/feedback',{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify({feedback:[item]})});
}
function render(cards){
  const box=$('cards');box.innerHTML='';
  cards.forEach((c,i)=>{
    const d=document.createElement('div');d.className='card '+c.indicator;d.dataset.indicator=c.indicator;
    let h='<div class="ind">'+esc(c.indicator)+'</div><strong class="summary">'+esc(c.summary)+'</strong>';
    h+='<details><summary>Details and sources</summary><pre>'+esc(c.detail||'')+'</pre></details>';
    h+='<div class="src">'+esc(c.source.label)+(c.source.topic?' · rule '+esc(c.source.topic.code):'')+'</div>';
    (c.suggestions||[]).forEach((s,j)=>{h+='<button class="suggest" data-i="'+i+'" data-j="'+j+'">'+esc(s.label)+'</button> ';});
    if(c.overrideReasons){h+='<div><select class="reason">'+c.overrideReasons.map((o,k)=>'<option value="'+k+'">'+esc(o.display)+'</option>').join('')+'</select><button class="override" data-i="'+i+'">Override and keep the order</button></div>';}
    d.innerHTML=h;box.appendChild(d);
  });
  box.querySelectorAll('button.suggest').forEach(b=>b.onclick=async()=>{
    const c=cards[b.dataset.i],s=c.suggestions[b.dataset.j];
    s.actions.forEach(a=>{if(a.type==='update'||a.type==='create'){draft=JSON.parse(JSON.stringify(a.resource));if(!draft.id)draft.id=current.patientId+'-draft';}});
    await feedback(c,'accepted',{acceptedSuggestions:[{id:s.uuid}]});
    fillForm();$('status').textContent='Suggestion applied: '+s.label+'. Signing again...';await sign();
  });
  box.querySelectorAll('button.override').forEach(b=>b.onclick=async()=>{
    const c=cards[b.dataset.i],k=b.parentNode.querySelector('select').value;
    await feedback(c,'overridden',{overrideReason:{reason:c.overrideReasons[k]}});
    $('status').textContent='Override recorded: '+c.overrideReasons[k].display;
  });
}
fetch('/ehr-demo/samples').then(r=>r.json()).then(list=>{samples=list;
  $('sample').innerHTML=list.map(s=>'<option>'+esc(s.name)+'</option>').join('');
  $('sample').onchange=pick;$('sign').onclick=sign;if(list.length)pick();});
</script></body></html>
"""
#: the page calls the order-sign service of the registry
PAGE = PAGE.replace("__ORDER_SIGN__", service_for("order-sign").id)
