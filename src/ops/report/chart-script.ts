/**
 * The HTML report's chart code, as the text the page runs (the report is one file with no network:
 * the code is inlined, so it is kept here as plain browser JavaScript). Two pure functions carry the
 * layout and are tested as this same text (test/ops/report/chart-layout.test.ts):
 *
 * - `timeTicks(min, max, maxTicks)`: UTC-aligned ticks at a whole step of minutes, hours or days,
 *   at most `maxTicks` of them, each labelled once (`HH:MM`, with the date where the day changes):
 *   never the same minute label twice along the axis, whatever the window.
 * - `layoutLabels(items, left, right, gap)`: puts each annotation's text right of its line (left
 *   of it near the right edge) in the first lane where it overlaps nothing: annotations never
 *   overlap, however close the kills and lifts are.
 */

/** Browser JavaScript defining `timeTicks` and `layoutLabels` (no modules, no dependencies). */
export const CHART_LAYOUT_JS = `
var TICK_STEPS=[60,120,300,600,900,1800,3600,7200,10800,21600,43200,86400,172800,604800];
function pad2(n){return (n<10?"0":"")+n}
function tickLabels(ts){var n=ts.length;if(n===0)return [];var span=ts[n-1]-ts[0];var step=n>1?ts[1]-ts[0]:60;
var crosses=Math.floor(ts[0]/86400)!==Math.floor(ts[n-1]/86400);var last=null;
return ts.map(function(t){var d=new Date(t*1000);var hm=pad2(d.getUTCHours())+":"+pad2(d.getUTCMinutes());var date=pad2(d.getUTCMonth()+1)+"-"+pad2(d.getUTCDate());
var day=Math.floor(t/86400);var l=step>=86400?date:span>=86400||(crosses&&day!==last)?date+" "+hm:hm;last=day;return l})}
function timeTicks(min,max,maxTicks){var span=Math.max(max-min,60);var limit=Math.max(2,Math.floor(maxTicks));var step=0;
for(var i=0;i<TICK_STEPS.length;i++){if(Math.floor(span/TICK_STEPS[i])+1<=limit){step=TICK_STEPS[i];break}}
if(step===0)step=Math.ceil(span/(limit-1)/86400)*86400;
var out=[];for(var t=Math.ceil(min/step)*step;t<=max;t+=step)out.push(t);
var labels=tickLabels(out);return out.map(function(t,i){return {at:t,label:labels[i]}})}
function layoutLabels(items,left,right,gap){var order=items.map(function(it,i){return i}).sort(function(a,b){return items[a].x-items[b].x});
var lanes=[];var out=new Array(items.length);
order.forEach(function(i){var it=items[i];var x=it.x+4;if(x+it.width>right)x=Math.max(left,it.x-4-it.width);
var lane=0;while(lane<lanes.length&&lanes[lane].some(function(r){return x<r[1]+gap&&r[0]<x+it.width+gap}))lane++;
if(lane===lanes.length)lanes.push([]);lanes[lane].push([x,x+it.width]);out[i]={x:x,lane:lane}});
return out}
`;

/** The chart itself: uPlot with the layout above; reads `#chart-data`, marks `body[data-chart=ready]`. */
export const CHART_SCRIPT = `${CHART_LAYOUT_JS}
(function(){var d=JSON.parse(document.getElementById("chart-data").textContent);var el=document.getElementById("chart");
if(d.x.length===0){el.textContent="No decisions were counted in the window.";document.body.setAttribute("data-chart","ready");return}
var dpr=devicePixelRatio||1;var lineH=15;
var markers={hooks:{draw:[function(u){var c=u.ctx;c.save();c.font=Math.round(11*dpr)+"px sans-serif";c.textBaseline="top";c.textAlign="left";
var left=u.bbox.left,right=u.bbox.left+u.bbox.width,top=u.bbox.top;
var items=d.markers.map(function(m){return {x:Math.round(u.valToPos(m.at,"x",true)),width:c.measureText(m.label).width+4*dpr}});
var placed=layoutLabels(items,left,right,6*dpr);
d.markers.forEach(function(m,i){var it=items[i],p=placed[i];var colour=m.action==="lift"?"#0969da":"#b42318";
c.strokeStyle=colour;c.setLineDash(m.action==="lift"?[2,3]:[5,3]);c.lineWidth=dpr;c.beginPath();c.moveTo(it.x,top);c.lineTo(it.x,top+u.bbox.height);c.stroke();
var y=top+4*dpr+p.lane*lineH*dpr;c.fillStyle="rgba(255,255,255,0.9)";c.fillRect(p.x,y-1*dpr,it.width,13*dpr);c.fillStyle=colour;c.fillText(m.label,p.x+2*dpr,y)});
c.restore()}]}};
var width=Math.min(el.clientWidth||900,1100);
var lo=d.x[0],hi=d.x[d.x.length-1];if(hi-lo<120){lo-=60;hi+=60}
var opts={title:"Decisions per minute (all rules, UTC)",width:width,height:340,plugins:[markers],legend:{live:false},
padding:[8+Math.min(d.lanes,6)*lineH,16,0,0],scales:{x:{time:true,range:function(){return [lo,hi]}}},
series:[{label:"minute (UTC)",value:function(u,v){return v==null?"":new Date(v*1000).toISOString().slice(0,16).replace("T"," ")}},
{label:"blocked",stroke:"#b42318",width:2,points:{show:true}},{label:"rate-limited",stroke:"#bc4c00",width:2,dash:[6,3],points:{show:true}},
{label:"monitored",stroke:"#8250df",width:2,dash:[2,2],points:{show:true}},{label:"allowed",stroke:"#1a7f37",width:2,points:{show:true}}],
axes:[{space:80,splits:function(u,ai,min,max){return timeTicks(min,max,u.bbox.width/dpr/80).map(function(t){return t.at})},
values:function(u,vs){return tickLabels(vs)}},{}]};
new uPlot(opts,[d.x,d.blocked,d.rateLimited,d.monitored,d.allowed],el);document.body.setAttribute("data-chart","ready")})();
`;
