/** A kind's panel (and the generic evidence) as HTML: the same sections the CLI prints. */
import type { Section } from '../../../src/view/panel';

export function Sections({ sections }: { sections: Section[] }) {
  return (
    <>
      {sections.map((s) => (
        <section className="panel" key={s.title} data-testid={`section-${s.title}`}>
          <h3>{s.title}</h3>
          {s.rows?.length ? (
            <dl>
              {s.rows.map((r, i) => (
                <div key={i} className={r.tone}>
                  <dt>{r.label}</dt>
                  <dd>{r.value}</dd>
                </div>
              ))}
            </dl>
          ) : null}
          {s.table ? (
            <table>
              <thead>
                <tr>
                  {s.table.columns.map((c) => (
                    <th key={c}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {s.table.rows.map((row, i) => (
                  <tr key={i}>
                    {row.map((cell, j) => (
                      <td key={j} className={cell.tone}>
                        {cell.text}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </section>
      ))}
    </>
  );
}
